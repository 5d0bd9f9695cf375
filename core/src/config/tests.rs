//! The value store: CONFIG SET's all-or-nothing update and CONFIG GET's
//! matching, checked against redis-server 7.0.15's replies.

use std::cell::RefCell;

use bytes::Bytes;

use super::*;

fn pairs(args: &[&str]) -> Vec<(Bytes, Bytes)> {
    args.chunks(2)
        .map(|p| (Bytes::from(p[0].to_string()), Bytes::from(p[1].to_string())))
        .collect()
}

fn no_shell_apply() -> Option<ApplyFn<'static>> {
    None
}

#[test]
fn set_many_is_all_or_nothing() {
    let config = Config::with_defaults();
    let applied = RefCell::new(Vec::new());
    let apply = |p: &'static Param, v: &Value| {
        applied.borrow_mut().push((p.name, v.clone()));
        Ok(())
    };
    let apply: Option<ApplyFn<'_>> = Some(&apply);
    assert_eq!(
        config.set_many(&pairs(&["timeout", "5", "HZ", "20"]), apply),
        Ok(())
    );
    assert_eq!(config.get("timeout").as_deref(), Some("5"));
    assert_eq!(config.get("hz").as_deref(), Some("20"));
    // Only shell-applied parameters reach the hook.
    assert_eq!(*applied.borrow(), vec![("timeout", Value::Int(5))]);

    // A bad value later in the list restores the good one before it.
    let err = config.set_many(&pairs(&["timeout", "9", "maxclients", "0"]), apply);
    assert_eq!(
        err.map_err(|e| e.to_string()),
        Err(
            "CONFIG SET failed (possibly related to argument 'maxclients') - \
             argument must be between 1 and 4294967295 inclusive"
                .to_string()
        )
    );
    assert_eq!(config.get("timeout").as_deref(), Some("5"));
    assert_eq!(applied.borrow().len(), 1, "nothing applied on failure");

    // Names are checked before any value: unknown, immutable, duplicate.
    for (args, want) in [
        (
            &["timeout", "abc", "nosuch", "1"][..],
            "Unknown option or number of arguments for CONFIG SET - 'nosuch'",
        ),
        (
            &["timeout", "abc", "databases", "2"][..],
            "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config",
        ),
        (
            &["timeout", "1", "TIMEOUT", "2", "nosuch", "1"][..],
            "CONFIG SET failed (possibly related to argument 'TIMEOUT') - duplicate parameter",
        ),
        (
            &["port", "1"][..],
            "CONFIG SET failed (possibly related to argument 'port') - can't set immutable config",
        ),
    ] {
        assert_eq!(config.set_many(&pairs(args), apply).unwrap_err().to_string(), want);
    }
    assert_eq!(config.get("timeout").as_deref(), Some("5"));
}

#[test]
fn a_failing_apply_restores_and_reapplies_the_old_values() {
    let config = Config::with_defaults();
    let applied = RefCell::new(Vec::new());
    let apply = |p: &'static Param, v: &Value| {
        applied.borrow_mut().push((p.name, v.to_string()));
        match (p.name, v) {
            ("maxclients", Value::Int(n)) if *n > 100 => Err("too many for this test".into()),
            _ => Ok(()),
        }
    };
    let apply: Option<ApplyFn<'_>> = Some(&apply);
    let err = config.set_many(&pairs(&["timeout", "7", "maxclients", "500"]), apply);
    assert_eq!(
        err.unwrap_err().to_string(),
        "CONFIG SET failed (possibly related to argument 'maxclients') - too many for this test"
    );
    assert_eq!(config.get("timeout").as_deref(), Some("0"));
    assert_eq!(config.get("maxclients").as_deref(), Some("10000"));
    assert_eq!(
        *applied.borrow(),
        vec![
            ("timeout", "7".to_string()),
            ("maxclients", "500".to_string()),
            ("timeout", "0".to_string()),
            ("maxclients", "10000".to_string()),
        ]
    );
}

#[test]
fn without_a_shell_its_parameters_are_unknown() {
    let config = Config::with_defaults();
    assert_eq!(
        config.set_many(&pairs(&["timeout", "5"]), no_shell_apply()),
        Err(SetError::Unknown("timeout".into()))
    );
    assert_eq!(
        config.set_many(&pairs(&["tcp-keepalive", "60"]), no_shell_apply()),
        Ok(())
    );
    assert_eq!(config.int(named("tcp-keepalive")), 60);
}

#[test]
fn hz_is_clamped_as_redis_applies_it() {
    let config = Config::with_defaults();
    assert_eq!(config.int(named("hz")), DEFAULT_HZ);
    for (set, shown) in [("1000", "500"), ("0", "1"), ("42", "42")] {
        assert_eq!(
            config.set_many(&pairs(&["hz", set]), no_shell_apply()),
            Ok(())
        );
        assert_eq!(config.get("hz").as_deref(), Some(shown));
    }
    // From a file or a flag too (redis-server --hz 1000 reports 500).
    assert_eq!(config.set("hz", "1000"), Ok(()));
    assert_eq!(config.get("hz").as_deref(), Some("500"));
}

#[test]
fn get_matches_names_and_globs_once_each() {
    let config = Config::with_defaults();
    let got = |patterns: &[&str]| {
        let patterns: Vec<Bytes> = patterns
            .iter()
            .map(|p| Bytes::from(p.to_string()))
            .collect();
        config
            .matching(&patterns)
            .into_iter()
            .map(|(n, v)| format!("{}={v}", String::from_utf8_lossy(&n)))
            .collect::<Vec<_>>()
    };
    assert_eq!(got(&["MaxClients", "maxclients"]), ["MaxClients=10000"]);
    assert_eq!(
        got(&["MAX*"]),
        [
            "maxclients=10000",
            "maxmemory=0",
            "maxmemory-eviction-tenacity=10",
            "maxmemory-policy=noeviction",
            "maxmemory-samples=5"
        ]
    );
    assert_eq!(got(&["port", "p?rt", "t*out"]), ["port=6379", "timeout=0"]);
    assert_eq!(got(&["nosuch", "x*"]), Vec::<String>::new());
    // Every name and every alias (as redis-server: `hash-max-ziplist-*`
    // matches too).
    let names = PARAMS.iter().map(|p| 1 + p.aliases.len()).sum::<usize>();
    assert_eq!(got(&["*"]).len(), names);
    assert_eq!(
        got(&["[st]*"]),
        [
            "save=",
            "set-max-intset-entries=512",
            "tcp-keepalive=300",
            "timeout=0"
        ]
    );
}

#[test]
fn start_up_values_may_set_immutable_parameters() {
    let config = Config::with_defaults();
    assert_eq!(config.set("port", "7000"), Ok(()));
    assert_eq!(config.set("BIND", "10.0.0.1"), Ok(()));
    assert_eq!(config.get("port").as_deref(), Some("7000"));
    assert_eq!(config.value(named("bind")).to_string(), "10.0.0.1");
    assert_eq!(
        config.set("nosuch", "1"),
        Err("Bad directive or wrong number of arguments".into())
    );
    assert_eq!(
        config.set("daemonize", "yes"),
        Err("only 'no' is supported: the server runs in the foreground".into())
    );
    assert_eq!(config.set("maxmemory", "1gb"), Ok(()));
    assert_eq!(config.get("maxmemory").as_deref(), Some("1073741824"));
    let names: Vec<String> = config.entries().into_iter().map(|(n, _)| n).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}
