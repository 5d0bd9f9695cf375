//! Pub/sub's registry: which clients listen to which channels and
//! patterns, and the delivery of a PUBLISH to them.
//!
//! `core` owns no socket, so a message for another client goes to the
//! [`Subscriber`] its shell lent the session (the native server: a
//! per-connection outbox that never makes a publisher wait). A message for
//! the publishing client itself is returned to the caller instead, so it
//! comes before the PUBLISH reply in that client's stream, as in Redis.
//! Replay and the simulator lend no subscriber: deliveries to others are
//! not part of any command's reply, and the counts PUBLISH answers come
//! from the registry alone, so replies still replay byte for byte.
//!
//! One `RwLock` guards the registry: PUBLISH reads it, (UN)SUBSCRIBE
//! write it. Its order is a `BTreeMap`'s and a `Vec`'s, never a randomly
//! seeded hash map.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;

use crate::frame::Frame;
use crate::glob::glob_match;

/// Where a client's out-of-band messages go (the shell's side).
pub trait Subscriber: Send + Sync {
    /// Queue `message` (a push frame) for the client. Must not block.
    fn deliver(&self, message: &Frame);
}

/// A session's handle on its shell's [`Subscriber`].
#[derive(Clone)]
pub struct Sink(pub Arc<dyn Subscriber>);

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sink")
    }
}

#[derive(Clone)]
struct Listener {
    client: u64,
    sink: Option<Sink>,
}

#[derive(Default)]
struct Registry {
    channels: BTreeMap<Bytes, Vec<Listener>>,
    /// In subscription order, as Redis's `pubsub_patterns` list.
    patterns: Vec<(Bytes, Listener)>,
}

/// The pub/sub registry of one server.
#[derive(Default)]
pub struct PubSub {
    registry: RwLock<Registry>,
}

impl PubSub {
    fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.registry.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn subscribe(&self, client: u64, sink: Option<Sink>, channel: &Bytes) {
        self.write()
            .channels
            .entry(channel.clone())
            .or_default()
            .push(Listener { client, sink });
    }

    pub fn unsubscribe(&self, client: u64, channel: &[u8]) {
        let mut r = self.write();
        if let Some(list) = r.channels.get_mut(channel) {
            list.retain(|l| l.client != client);
            if list.is_empty() {
                r.channels.remove(channel);
            }
        }
    }

    pub fn psubscribe(&self, client: u64, sink: Option<Sink>, pattern: &Bytes) {
        self.write()
            .patterns
            .push((pattern.clone(), Listener { client, sink }));
    }

    pub fn punsubscribe(&self, client: u64, pattern: &[u8]) {
        self.write()
            .patterns
            .retain(|(p, l)| !(l.client == client && &p[..] == pattern));
    }

    /// Deliver `payload` on `channel` from client `publisher`: to every
    /// subscriber of the channel, then of every matching pattern. Returns
    /// the number of receivers and the messages meant for the publisher
    /// itself, in order.
    pub fn publish(&self, publisher: u64, channel: &Bytes, payload: &Bytes) -> (usize, Vec<Frame>) {
        let r = self.read();
        let mut own = Vec::new();
        let mut receivers = 0;
        let mut send = |l: &Listener, message: Frame| {
            receivers += 1;
            if l.client == publisher {
                own.push(message);
            } else if let Some(sink) = &l.sink {
                sink.0.deliver(&message);
            }
        };
        if let Some(list) = r.channels.get(channel) {
            for l in list {
                let message = Frame::Push(vec![
                    Frame::bulk(b"message"),
                    Frame::Bulk(channel.clone()),
                    Frame::Bulk(payload.clone()),
                ]);
                send(l, message);
            }
        }
        for (pattern, l) in &r.patterns {
            if glob_match(pattern, channel, false) {
                let message = Frame::Push(vec![
                    Frame::bulk(b"pmessage"),
                    Frame::Bulk(pattern.clone()),
                    Frame::Bulk(channel.clone()),
                    Frame::Bulk(payload.clone()),
                ]);
                send(l, message);
            }
        }
        (receivers, own)
    }

    /// PUBSUB CHANNELS [pattern]: channels with at least one subscriber.
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.read()
            .channels
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// PUBSUB NUMSUB: subscribers of `channel`.
    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.read().channels.get(channel).map_or(0, Vec::len)
    }

    /// PUBSUB NUMPAT: distinct patterns subscribed to.
    pub fn numpat(&self) -> usize {
        let r = self.read();
        let mut patterns: Vec<&Bytes> = r.patterns.iter().map(|(p, _)| p).collect();
        patterns.sort();
        patterns.dedup();
        patterns.len()
    }
}
