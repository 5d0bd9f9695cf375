//! The shell's side of core's `ClusterShell`: node IDs from the OS's
//! randomness, MIGRATE's connections to the target, and PUBLISH handed to
//! the bus.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use std::sync::Arc;

use bytes::Bytes;
use crossbeam::channel::Sender;
use myongoredis_core::cluster::{ClusterShell, MigrateTarget};

use crate::clock::unix_now_us;

/// 40 random lowercase hex digits (Redis's `getRandomHexChars`).
pub fn random_node_id() -> String {
    let mut bytes = [0u8; 20];
    let urandom = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if urandom.is_err() {
        use std::hash::{BuildHasher, Hasher};
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(unix_now_us() ^ i as u64);
            let v = h.finish().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How many PUBLISHes may wait for the bus before new ones are dropped
/// (a peer that stalls must not make publishers' memory grow without
/// bound; Redis bounds its bus links' buffers the same way).
pub(super) const PUBLISH_QUEUE: usize = 100_000;

/// The shell's side of core's [`ClusterShell`]: random IDs, MIGRATE's
/// connections, and in cluster mode the queue of PUBLISHes for the bus.
pub struct Network {
    publishes: Option<Sender<(Bytes, Bytes)>>,
    conf: Option<Arc<super::ConfFile>>,
}

impl Network {
    /// A standalone server's: there is no other node to tell of a PUBLISH.
    pub fn standalone() -> Network {
        Network {
            publishes: None,
            conf: None,
        }
    }

    /// A cluster node's: each PUBLISH goes into `publishes` for the bus,
    /// and a changed configuration into `conf`.
    pub(super) fn clustered(
        publishes: Sender<(Bytes, Bytes)>,
        conf: Arc<super::ConfFile>,
    ) -> Network {
        Network {
            publishes: Some(publishes),
            conf: Some(conf),
        }
    }
}

impl ClusterShell for Network {
    fn save_config(&self, version: u64, text: &str) {
        if let Some(conf) = &self.conf {
            conf.save(version, text, false);
        }
    }

    fn fresh_node_id(&self) -> String {
        random_node_id()
    }

    fn migrate(
        &self,
        target: &MigrateTarget,
        commands: &[Vec<Bytes>],
    ) -> Result<Vec<Result<(), String>>, String> {
        migrate(target, commands)
    }

    fn publish(&self, channel: &Bytes, message: &Bytes) {
        if let Some(queue) = &self.publishes {
            let _ = queue.try_send((channel.clone(), message.clone()));
        }
    }
}

const CONNECT_ERROR: &str = "IOERR error or timeout connecting to the client";
const WRITE_ERROR: &str = "IOERR error or timeout writing to target instance";
const READ_ERROR: &str = "IOERR error or timeout reading to target instance";

/// MIGRATE's exchange with the target (Redis's `migrateCommand`): AUTH if
/// asked, SELECT, then the commands, pipelined; one reply each.
fn migrate(
    target: &MigrateTarget,
    commands: &[Vec<Bytes>],
) -> Result<Vec<Result<(), String>>, String> {
    let timeout = Duration::from_millis(target.timeout_ms.max(1));
    let addr = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or(CONNECT_ERROR)?;
    let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|_| CONNECT_ERROR)?;
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|_| CONNECT_ERROR)?;
    let mut out = Vec::new();
    let mut preamble = 0;
    if let Some((user, password)) = &target.auth {
        let mut auth = vec![Bytes::from_static(b"AUTH")];
        auth.extend(user.clone());
        auth.push(password.clone());
        encode(&mut out, &auth);
        preamble += 1;
    }
    encode(
        &mut out,
        &[
            Bytes::from_static(b"SELECT"),
            Bytes::from(target.db.to_string()),
        ],
    );
    preamble += 1;
    for command in commands {
        encode(&mut out, command);
    }
    (&stream).write_all(&out).map_err(|_| WRITE_ERROR)?;
    let mut reader = BufReader::new(&stream);
    let mut failed = None;
    for _ in 0..preamble {
        if let Err(e) = read_reply(&mut reader)? {
            failed.get_or_insert(e);
        }
    }
    let mut replies = Vec::with_capacity(commands.len());
    for _ in commands {
        let reply = read_reply(&mut reader)?;
        replies.push(match &failed {
            Some(e) => Err(e.clone()),
            None => reply,
        });
    }
    Ok(replies)
}

fn encode(out: &mut Vec<u8>, args: &[Bytes]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// One reply: `Ok(Err(text))` for an error reply; a bulk's body is
/// skipped (MIGRATE only needs to know whether each command worked).
fn read_reply(reader: &mut impl BufRead) -> Result<Result<(), String>, String> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) | Err(_) => return Err(READ_ERROR.into()),
        Ok(_) => {}
    }
    let line = line.trim_end_matches(['\r', '\n']);
    match line.as_bytes().first() {
        Some(b'-') => Ok(Err(line[1..].to_string())),
        Some(b'$') => {
            let len: i64 = line[1..].parse().map_err(|_| READ_ERROR.to_string())?;
            if len >= 0 {
                let mut skip = vec![0u8; len as usize + 2];
                reader
                    .read_exact(&mut skip)
                    .map_err(|_| READ_ERROR.to_string())?;
            }
            Ok(Ok(()))
        }
        Some(b'+' | b':') => Ok(Ok(())),
        _ => Err(READ_ERROR.into()),
    }
}
