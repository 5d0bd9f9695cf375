//! The cluster state's rules: slot claims, epochs, failure detection,
//! `nodes.conf` and bus messages round-tripping.

use super::bus::{Health, Kind, Message};
use super::*;

fn id(c: char) -> String {
    std::iter::repeat_n(c, 40).collect()
}

fn node(c: char, port: u16) -> Node {
    Node::new(id(c), "127.0.0.1".into(), port, port + 10_000)
}

#[test]
fn a_greater_config_epoch_wins_a_slot() {
    let mut a = ClusterState::new(node('a', 7000));
    let mut b = ClusterState::new(node('b', 7001));
    a.me_mut().config_epoch = 1;
    b.me_mut().config_epoch = 2;
    a.assign(5, Some(&id('a')));
    b.assign(5, Some(&id('b')));
    a.receive(&b.message(Kind::Ping), 1000, 15_000);
    assert_eq!(a.owner(5), Some(id('b').as_str()), "b's epoch is greater");
    b.receive(&a.message(Kind::Pong), 1000, 15_000);
    assert_eq!(b.owner(5), Some(id('b').as_str()), "a no longer claims it");
    assert_eq!(a.nodes.len(), 2);
    assert_eq!(b.nodes.len(), 2);
}

#[test]
fn an_importing_slot_ignores_claims_until_it_is_committed() {
    let mut a = ClusterState::new(node('a', 7000));
    let mut b = ClusterState::new(node('b', 7001));
    b.me_mut().config_epoch = 5;
    b.assign(9, Some(&id('b')));
    a.importing.insert(9, id('b'));
    a.receive(&b.message(Kind::Ping), 0, 15_000);
    assert_eq!(a.owner(9), None);
}

#[test]
fn equal_epochs_are_resolved_by_the_smaller_id_bumping() {
    let mut a = ClusterState::new(node('a', 7000));
    let mut b = ClusterState::new(node('b', 7001));
    a.me_mut().config_epoch = 3;
    b.me_mut().config_epoch = 3;
    a.current_epoch = 3;
    b.current_epoch = 3;
    b.receive(&a.message(Kind::Ping), 0, 15_000);
    assert_eq!(b.me().config_epoch, 3, "b has the greater ID and keeps it");
    a.receive(&b.message(Kind::Ping), 0, 15_000);
    assert_eq!(a.me().config_epoch, 4);
    assert_eq!(a.current_epoch, 4);
}

#[test]
fn a_silent_node_is_pfail_then_fail_with_a_majority() {
    let mut a = ClusterState::new(node('a', 7000));
    for (c, port) in [('b', 7001), ('c', 7002)] {
        a.learn(node(c, port), 0);
    }
    for (slot, owner) in [(0, 'a'), (1, 'b'), (2, 'c')] {
        a.assign(slot, Some(&id(owner)));
    }
    a.require_full_coverage = false;
    a.ping_sent(&id('c'), Kind::Ping, 1000);
    a.tick(2000, 5000);
    assert!(!a.nodes[&id('c')].pfail);
    a.tick(7000, 5000);
    assert!(a.nodes[&id('c')].pfail && !a.nodes[&id('c')].fail);
    // b reports c too: with a, two of three masters.
    let mut b = ClusterState::new(node('b', 7001));
    b.learn(node('c', 7002), 0);
    b.nodes.get_mut(&id('c')).unwrap().pfail = true;
    a.receive(&b.message(Kind::Pong), 7100, 5000);
    assert!(a.nodes[&id('c')].fail);
    a.require_full_coverage = true;
    a.update_state();
    assert!(!a.ok, "slot 2 is served by a failed node");
    // c answers again.
    let c = ClusterState::new(node('c', 7002));
    a.receive(&c.message(Kind::Pong), 8000, 5000);
    assert!(!a.nodes[&id('c')].fail && !a.nodes[&id('c')].pfail);
}

#[test]
fn nodes_conf_round_trips() {
    let mut a = ClusterState::new(node('a', 7000));
    a.learn(node('b', 7001), 0);
    a.me_mut().config_epoch = 7;
    a.current_epoch = 9;
    for slot in 0..100 {
        a.assign(slot, Some(&id('a')));
    }
    a.assign(200, Some(&id('b')));
    a.migrating.insert(5, id('b'));
    a.importing.insert(300, id('b'));
    let text = conf::save(&a);
    assert!(text.contains(&format!(
        "{} 127.0.0.1:7000@17000 myself,master - 0 0 7 connected 0-99 [5->-{}] [300-<-{}]\n",
        id('a'),
        id('b'),
        id('b')
    )));
    assert!(text.ends_with("vars currentEpoch 9 lastVoteEpoch 0\n"));
    let back = conf::load(&text).expect("loads");
    assert_eq!(back.myself, a.myself);
    assert_eq!(back.ranges_of(&id('a')), vec![(0, 99)]);
    assert_eq!(back.ranges_of(&id('b')), vec![(200, 200)]);
    assert_eq!(back.migrating, a.migrating);
    assert_eq!(back.importing, a.importing);
    assert_eq!(back.current_epoch, 9);
    assert_eq!(conf::save(&back).lines().count(), text.lines().count());
}

#[test]
fn bad_nodes_conf_is_an_error_with_its_line() {
    for (text, line) in [
        ("garbage\n", 1),
        (
            &*format!(
                "{} 127.0.0.1:1@2 myself,master - 0 0 0 connected 99999\n",
                id('a')
            ),
            1,
        ),
        (
            &*format!("{} nonsense myself,master - 0 0 0 connected\n", id('a')),
            1,
        ),
        (
            &*format!("{} 127.0.0.1:1@2 master - 0 0 0 connected\n", id('a')),
            0,
        ),
        ("vars currentEpoch x\n", 1),
    ] {
        let err = conf::load(text).expect_err(text);
        assert_eq!(err.line, line, "{text}: {err}");
    }
}

#[test]
fn bus_messages_round_trip_and_garbage_is_refused() {
    let mut a = ClusterState::new(node('a', 7000));
    a.learn(node('b', 7001), 0);
    a.nodes.get_mut(&id('b')).unwrap().pfail = true;
    a.assign(3, Some(&id('a')));
    a.assign(4, Some(&id('a')));
    let msg = a.message(Kind::Meet);
    assert_eq!(msg.slots, vec![(3, 4)]);
    assert_eq!(msg.gossip[0].health, Health::Pfail);
    assert_eq!(Message::decode(&msg.encode()), Ok(msg));
    let mut publish = a.message(Kind::Publish);
    publish.publish = Some((b"news".to_vec(), b"\x00hi there\r\n".to_vec()));
    assert_eq!(Message::decode(&publish.encode()), Ok(publish.clone()));
    publish.publish = Some((Vec::new(), Vec::new()));
    assert_eq!(Message::decode(&publish.encode()), Ok(publish));
    for bad in [
        &b""[..],
        b"myongoredis-bus 1 publish\nsender aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1.2.3.4 1 2 3 4\nslots\n",
        b"hello",
        b"myongoredis-bus 1 ping\nsender x",
        b"myongoredis-bus 2 ping\n",
        b"myongoredis-bus 1 ping\nsender aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1.2.3.4 1 2 3 4\nslots 5-3\n",
        b"\xff\xfe",
    ] {
        assert!(Message::decode(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn forget_blacklists_for_a_minute() {
    let mut a = ClusterState::new(node('a', 7000));
    a.learn(node('b', 7001), 0);
    a.assign(1, Some(&id('b')));
    a.forget(&id('b'), 1000);
    assert!(!a.nodes.contains_key(&id('b')));
    assert_eq!(a.owner(1), None);
    assert!(!a.learn(node('b', 7001), 2000));
    assert!(a.learn(node('b', 7001), 1000 + BLACKLIST_TTL_MS + 1));
}

mod routing {
    use bytes::Bytes;

    use super::{id, node};
    use crate::cluster::route::{route, Query, Route, CROSSSLOT, DOWN, TRYAGAIN, UNBOUND};
    use crate::cluster::{key_slot, ClusterState};
    use crate::cmd;
    use crate::frame::Frame;

    fn argv(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    /// `a` (us, port 7000) owns every slot but foo's, which `b` owns.
    fn state() -> ClusterState {
        let mut s = ClusterState::new(node('a', 7000));
        s.learn(node('b', 7001), 0);
        for slot in 0..crate::cluster::SLOTS as u16 {
            s.assign(slot, Some(&id('a')));
        }
        s.assign(key_slot(b"foo"), Some(&id('b')));
        s.update_state();
        s
    }

    fn check(s: &ClusterState, words: &[&str], asking: bool, present: &[&str]) -> Route {
        let args = argv(words);
        let spec = cmd::lookup(&args[0]).expect("a command");
        let queries: [Query<'_>; 1] = [(spec, &args)];
        let mut exists = |k: &[u8]| present.iter().any(|p| p.as_bytes() == k);
        route(s, &queries, asking, false, &mut exists)
    }

    fn refused(text: &str) -> Route {
        Route::Refuse(Frame::error(text.to_string()))
    }

    #[test]
    fn moved_crossslot_and_keyless_commands() {
        let s = state();
        assert_eq!(check(&s, &["GET", "bar"], false, &[]), Route::Here);
        assert_eq!(
            check(&s, &["GET", "foo"], false, &[]),
            refused("MOVED 12182 127.0.0.1:7001")
        );
        assert_eq!(
            check(&s, &["MSET", "a", "1", "b", "2"], false, &[]),
            refused(CROSSSLOT)
        );
        assert_eq!(
            check(&s, &["MSET", "{t}a", "1", "{t}b", "2"], false, &[]),
            Route::Here
        );
        assert_eq!(check(&s, &["MGET", "bar", "bar"], false, &[]), Route::Here);
        assert_eq!(check(&s, &["PING"], false, &[]), Route::Here);
    }

    #[test]
    fn a_migrating_slot_asks_for_missing_keys() {
        let mut s = state();
        let slot = key_slot(b"bar");
        s.migrating.insert(slot, id('b'));
        assert_eq!(check(&s, &["GET", "bar"], false, &["bar"]), Route::Here);
        assert_eq!(
            check(&s, &["GET", "bar"], false, &[]),
            refused(&format!("ASK {slot} 127.0.0.1:7001"))
        );
        // Two keys of the slot, one already moved: try again later.
        assert_eq!(
            check(&s, &["MGET", "{bar}1", "{bar}2"], false, &["{bar}1"]),
            refused(TRYAGAIN)
        );
        // MIGRATE itself is served while the slot is open.
        assert_eq!(
            check(&s, &["MIGRATE", "h", "1", "bar", "0", "10"], false, &[]),
            Route::Here
        );
    }

    #[test]
    fn an_importing_slot_serves_only_after_asking() {
        let mut s = state();
        let slot = key_slot(b"foo");
        s.importing.insert(slot, id('b'));
        assert_eq!(
            check(&s, &["GET", "foo"], false, &[]),
            refused(&format!("MOVED {slot} 127.0.0.1:7001"))
        );
        assert_eq!(check(&s, &["GET", "foo"], true, &[]), Route::Here);
        assert_eq!(
            check(&s, &["MGET", "{foo}1", "foo"], true, &["foo"]),
            refused(TRYAGAIN)
        );
    }

    #[test]
    fn uncovered_slots_and_a_down_cluster() {
        let mut s = state();
        s.assign(key_slot(b"bar"), None);
        s.update_state();
        assert_eq!(check(&s, &["GET", "bar"], false, &[]), refused(UNBOUND));
        assert_eq!(check(&s, &["GET", "x"], false, &[]), refused(DOWN));
        let args = argv(&["GET", "x"]);
        let spec = cmd::lookup(b"get").unwrap();
        let mut none = |_: &[u8]| false;
        assert_eq!(
            route(&s, &[(spec, &args)], false, true, &mut none),
            Route::Here
        );
        let args = argv(&["SET", "x", "1"]);
        let spec = cmd::lookup(b"set").unwrap();
        assert_eq!(
            route(&s, &[(spec, &args)], false, true, &mut none),
            Route::Refuse(Frame::static_error(crate::cluster::route::DOWN_READONLY))
        );
    }

    #[test]
    fn exec_routes_its_whole_queue() {
        let s = state();
        let (a, b) = (argv(&["SET", "{t}a", "1"]), argv(&["SET", "b", "2"]));
        let set = cmd::lookup(b"set").unwrap();
        let mut none = |_: &[u8]| false;
        assert_eq!(
            route(&s, &[(set, &a), (set, &b)], false, false, &mut none),
            Route::Refuse(Frame::static_error(CROSSSLOT))
        );
        assert_eq!(
            route(&s, &[(set, &a), (set, &a)], false, false, &mut none),
            Route::Here
        );
    }
}

#[test]
fn routing_copies_are_renewed_when_the_version_moves() {
    struct Quiet;
    impl ClusterShell for Quiet {
        fn fresh_node_id(&self) -> String {
            id('f')
        }
        fn migrate(
            &self,
            _: &MigrateTarget,
            _: &[Vec<Bytes>],
        ) -> Result<Vec<Result<(), String>>, String> {
            Ok(Vec::new())
        }
        fn publish(&self, _: &Bytes, _: &Bytes) {}
    }
    let cluster = Cluster::new(
        ClusterState::new(node('a', 7000)),
        std::sync::Arc::new(Quiet),
    );
    let mut view = None;
    assert_eq!(cluster.view(&mut view).owner(7), None);
    cluster.write().assign(7, Some(&id('a')));
    assert_eq!(cluster.view(&mut view).owner(7), Some(id('a').as_str()));
    // The copy is the connection's: an unchanged version reuses it.
    let before = view.as_ref().map(|v| std::sync::Arc::as_ptr(&v.0));
    let _ = cluster.view(&mut view);
    assert_eq!(view.as_ref().map(|v| std::sync::Arc::as_ptr(&v.0)), before);
}
