//! Differential test: the same corpus of commands goes to a real
//! `redis-server` (the Debian package, 7.0) and to myongoredis in each
//! lock mode; every reply must be byte-identical. The whole corpus runs
//! twice: in RESP2, and in RESP3 (every connection opens with `HELLO 3`).
//!
//! The corpus is `tests/corpus/*.txt`, one command per line in redis-cli's
//! quoting (double quotes with `\x00`-style escapes for binary). Directives
//! start with `@`:
//!
//! | line | meaning |
//! |---|---|
//! | `# text` | a comment |
//! | `@variable CMD ...` | the reply varies by nature (TIME, RANDOMKEY, ...): compare only its RESP type and shape |
//! | `@sorted CMD ...` | the reply is an array in unspecified order (KEYS): compare sorted |
//! | `@scan CMD ...` | a SCAN reply: the cursor is implementation-specific; compare the keys, sorted |
//! | `@inline text` | send `text\r\n` as an inline command instead of a multibulk |
//! | `@silent CMD ...` | send the command and read no reply (CLIENT REPLY OFF / SKIP): a reply sent anyway is read by the next command, whose comparison then fails |
//! | `@sleep MS` | pause (for expiry) |
//! | `@replies N CMD ...` | a command answered by N replies (SUBSCRIBE a b): compare them all |
//! | `@await TEXT CMD ...` | repeat the command on every server until its reply contains TEXT (redis-server turns `cluster_state:ok` seconds after the slots are covered) |
//!
//! `tests/corpus/cluster/*.txt` runs the same way against a single-node
//! cluster of each (`cluster-enabled yes`): slot hashing, CLUSTER's
//! subcommands and errors, CLUSTERDOWN, CROSSSLOT, SELECT.
//!
//! Without `redis-server` on PATH the test prints why and skips; CI
//! installs it, so there it always runs.

use std::path::Path;
use std::time::Duration;

use myongoredis_core::resp::split_args;
use myongoredis_core::Frame;
use myongoredis_testsupport::{Raw, RealRedis, ServerProcess, TempDir, MODES};

/// One corpus line, parsed.
#[derive(Debug)]
enum Step {
    Command {
        args: Vec<bytes::Bytes>,
        compare: Compare,
        line: usize,
    },
    Inline {
        text: Vec<u8>,
        line: usize,
    },
    Silent {
        args: Vec<bytes::Bytes>,
    },
    /// A command answered by several replies (SUBSCRIBE a b): read them
    /// all, compare them as one array.
    Replies {
        args: Vec<bytes::Bytes>,
        count: usize,
        line: usize,
    },
    Sleep(Duration),
    /// Poll until the reply contains `text` (never compared).
    Await {
        text: String,
        args: Vec<bytes::Bytes>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compare {
    Exact,
    Shape,
    Sorted,
    Scan,
}

fn load_corpus(sub: &str) -> Vec<(String, Vec<Step>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(sub);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("corpus file");
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let steps = text
                .lines()
                .enumerate()
                .filter_map(|(i, raw)| parse_line(raw.trim(), i + 1, &name))
                .collect();
            (name, steps)
        })
        .collect()
}

fn parse_line(line: &str, n: usize, file: &str) -> Option<Step> {
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (compare, rest) = match line.split_once(' ') {
        Some(("@variable", rest)) => (Compare::Shape, rest),
        Some(("@sorted", rest)) => (Compare::Sorted, rest),
        Some(("@scan", rest)) => (Compare::Scan, rest),
        Some(("@inline", rest)) => {
            return Some(Step::Inline {
                text: rest.as_bytes().to_vec(),
                line: n,
            })
        }
        Some(("@replies", rest)) => {
            let (count, rest) = rest
                .split_once(' ')
                .unwrap_or_else(|| panic!("{file}:{n}: @replies N command"));
            let count = count
                .parse()
                .unwrap_or_else(|_| panic!("{file}:{n}: bad @replies count"));
            let args =
                split_args(rest.as_bytes()).unwrap_or_else(|| panic!("{file}:{n}: bad quoting"));
            return Some(Step::Replies {
                args,
                count,
                line: n,
            });
        }
        Some(("@silent", rest)) => {
            let args =
                split_args(rest.as_bytes()).unwrap_or_else(|| panic!("{file}:{n}: bad quoting"));
            return Some(Step::Silent { args });
        }
        Some(("@await", rest)) => {
            let (text, rest) = rest
                .split_once(' ')
                .unwrap_or_else(|| panic!("{file}:{n}: @await TEXT command"));
            let args =
                split_args(rest.as_bytes()).unwrap_or_else(|| panic!("{file}:{n}: bad quoting"));
            return Some(Step::Await {
                text: text.to_string(),
                args,
            });
        }
        Some(("@sleep", ms)) => {
            let ms = ms
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{file}:{n}: bad @sleep"));
            return Some(Step::Sleep(Duration::from_millis(ms)));
        }
        _ if line.starts_with('@') => panic!("{file}:{n}: unknown directive {line}"),
        _ => (Compare::Exact, line),
    };
    let args = split_args(rest.as_bytes()).unwrap_or_else(|| panic!("{file}:{n}: bad quoting"));
    Some(Step::Command {
        args,
        compare,
        line: n,
    })
}

/// Reduce a reply to what must agree under `compare`.
fn normalize(frame: Frame, compare: Compare) -> Frame {
    fn sorted(mut items: Vec<Frame>) -> Frame {
        items.sort_by_key(|f| f.to_bytes());
        Frame::Array(items)
    }
    fn sorted_pairs(mut pairs: Vec<(Frame, Frame)>) -> Frame {
        pairs.sort_by_key(|(k, _)| k.to_bytes());
        Frame::Map(pairs)
    }
    fn shape(frame: &Frame) -> Frame {
        match frame {
            Frame::Simple(_) => Frame::simple("<simple>"),
            Frame::Error(_) => Frame::simple("<error>"),
            Frame::Integer(_) => Frame::simple("<integer>"),
            Frame::Bulk(_) => Frame::simple("<bulk>"),
            Frame::Verbatim(_) => Frame::simple("<verbatim>"),
            Frame::Array(items) => Frame::Array(items.iter().map(shape).collect()),
            Frame::Set(items) => Frame::Set(items.iter().map(shape).collect()),
            Frame::Map(pairs) => {
                Frame::Map(pairs.iter().map(|(k, v)| (shape(k), shape(v))).collect())
            }
            other => other.clone(),
        }
    }
    match (compare, frame) {
        (Compare::Exact, f) => f,
        (Compare::Shape, f) => shape(&f),
        (Compare::Sorted, Frame::Array(items) | Frame::Set(items)) => sorted(items),
        (Compare::Sorted, Frame::Map(pairs)) => sorted_pairs(pairs),
        (Compare::Scan, Frame::Array(mut parts)) if parts.len() == 2 => match parts.pop() {
            Some(Frame::Array(keys)) => sorted(keys),
            other => Frame::Array(other.into_iter().collect()),
        },
        (_, f) => f,
    }
}

fn run(raw: &mut Raw, step: &Step) -> Option<Frame> {
    match step {
        Step::Command { args, compare, .. } => {
            let args: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
            Some(normalize(raw.call(&args), *compare))
        }
        Step::Inline { text, .. } => {
            let mut bytes = text.clone();
            bytes.extend_from_slice(b"\r\n");
            raw.send_raw(&bytes);
            Some(raw.read_frame().expect("a reply to an inline command"))
        }
        Step::Silent { args } => {
            let args: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
            raw.send_raw(&encode_request(&args));
            None
        }
        Step::Replies { args, count, .. } => {
            let args: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
            raw.send_raw(&encode_request(&args));
            let frames = (0..*count)
                .map(|_| raw.read_frame().expect("one of several replies"))
                .collect();
            Some(Frame::Array(frames))
        }
        Step::Sleep(d) => {
            std::thread::sleep(*d);
            None
        }
        Step::Await { text, args } => {
            let args: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            loop {
                let reply = raw.call(&args).to_bytes();
                if reply.windows(text.len()).any(|w| w == text.as_bytes()) {
                    break None;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "@await {text}: never seen"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// A command as a RESP multibulk request.
fn encode_request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A reply as escaped text, cut to a readable length.
fn show(frame: Option<&Frame>) -> String {
    let Some(frame) = frame else {
        return "-".into();
    };
    let text = frame.to_bytes().escape_ascii().to_string();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text,
    }
}

#[test]
fn replies_are_byte_identical_to_redis_server() {
    // Without redis-server, `start` says why and the test skips.
    let Some(redis) = RealRedis::start(&[]) else {
        return;
    };
    let servers: Vec<ServerProcess> = MODES.iter().map(|m| ServerProcess::start(m, &[])).collect();
    let total = compare_corpus(&redis, &servers, &load_corpus("tests/corpus"));
    assert!(
        total >= 300,
        "the corpus must hold at least 300 commands, has {total}"
    );
}

/// The cluster corpus against single-node clusters: redis-server's and
/// one of ours per lock mode, each with its own `nodes.conf` directory.
#[test]
fn cluster_replies_are_byte_identical_to_redis_server() {
    let dirs: Vec<TempDir> = (0..=MODES.len())
        .map(|i| TempDir::new(&format!("differential-cluster-{i}")))
        .collect();
    let Some(redis) = RealRedis::start_cluster(dirs[0].path()) else {
        return;
    };
    let servers: Vec<ServerProcess> = MODES
        .iter()
        .zip(&dirs[1..])
        .map(|(m, dir)| {
            let dir = dir.path().to_str().expect("a UTF-8 temp path");
            ServerProcess::start(m, &["--cluster-enabled", "yes", "--dir", dir])
        })
        .collect();
    let total = compare_corpus(&redis, &servers, &load_corpus("tests/corpus/cluster"));
    assert!(total >= 50, "the cluster corpus has only {total} commands");
}

/// Run `corpus` against `redis` and each of `servers`, in RESP2 then
/// RESP3; panic listing every mismatch. Returns the number of commands.
fn compare_corpus(
    redis: &RealRedis,
    servers: &[ServerProcess],
    corpus: &[(String, Vec<Step>)],
) -> usize {
    let total: usize = corpus
        .iter()
        .map(|(_, s)| {
            s.iter()
                .filter(|s| !matches!(s, Step::Sleep(_) | Step::Await { .. }))
                .count()
        })
        .sum();
    let mut mismatches = Vec::new();
    for (protocol, (file, steps)) in [2, 3]
        .into_iter()
        .flat_map(|p| corpus.iter().map(move |c| (p, c)))
    {
        let mut reference = Raw::connect(redis.addr());
        let mut ours: Vec<Raw> = servers.iter().map(|s| Raw::connect(s.addr)).collect();
        for con in std::iter::once(&mut reference).chain(ours.iter_mut()) {
            assert_eq!(con.call(&[b"FLUSHALL"]), Frame::ok());
            if protocol == 3 {
                // The handshake itself differs only in the client id.
                let hello = normalize(con.call(&[b"HELLO", b"3"]), Compare::Shape);
                let Frame::Map(fields) = &hello else {
                    panic!("HELLO 3 answered {hello:?}")
                };
                assert_eq!(fields.len(), 7, "{hello:?}");
            }
        }
        for step in steps {
            let want = run(&mut reference, step);
            for (server, con) in servers.iter().zip(ours.iter_mut()) {
                let got = run(con, step);
                if got != want {
                    let line = match step {
                        Step::Command { line, .. }
                        | Step::Inline { line, .. }
                        | Step::Replies { line, .. } => *line,
                        Step::Sleep(_) | Step::Silent { .. } | Step::Await { .. } => 0,
                    };
                    mismatches.push(format!(
                        "{file}:{line} [{} RESP{protocol}] {step:?}\n    redis-server: {}\n    myongoredis:  {}",
                        server.mode,
                        show(want.as_ref()),
                        show(got.as_ref()),
                    ));
                }
            }
        }
    }
    eprintln!(
        "differential corpus: {total} commands × {} modes compared, in RESP2 and in RESP3",
        MODES.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    total
}
