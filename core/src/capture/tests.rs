use bytes::Bytes;

use super::*;

fn header() -> Header {
    Header {
        server: "0.1.0".into(),
        mode: Mode::Shard,
        shards: 8,
        seed: 42,
        start_us: 1_700_000_000_000_000,
        config: vec![
            ("port".into(), "6379".into()),
            ("save".into(), String::new()),
        ],
    }
}

fn records() -> Vec<Record> {
    vec![
        Record::Open {
            seq: 1,
            conn: 7,
            now_us: 1_700_000_000_000_100,
        },
        Record::Command(CommandRecord {
            seq: 2,
            conn: 7,
            now_us: 1_700_000_000_000_250,
            rng: None,
            mark: Mark::Compared,
            request: b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na b\\c\r\n".to_vec(),
            reply: b"+OK\r\n".to_vec(),
        }),
        Record::Command(CommandRecord {
            seq: 3,
            conn: 7,
            now_us: 1_700_000_000_000_300,
            rng: Some(u64::MAX),
            mark: Mark::Excluded,
            request: (0..=255u8).collect(),
            reply: Vec::new(),
        }),
        Record::Expire(ExpireRecord {
            seq: 4,
            lock: 5,
            now_us: 1_700_000_000_100_000,
            rng: 81985529216486895,
            sampled: 20,
            expired: 6,
        }),
        Record::LazyExpire(LazyExpireRecord {
            seq: 5,
            conn: 7,
            now_us: 1_700_000_000_000_400,
            deleted: 1,
            request: b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".to_vec(),
        }),
        Record::Evict(EvictRecord {
            seq: 6,
            now_us: 1_700_000_000_000_500,
            db: 15,
            key: b"evicted key \xff".to_vec(),
        }),
        Record::Close {
            seq: 7,
            conn: 7,
            now_us: 1_700_000_000_200_000,
        },
    ]
}

fn encoded() -> Vec<u8> {
    let mut out = Vec::new();
    header().encode(&mut out);
    for r in records() {
        r.encode(&mut out);
    }
    out
}

#[test]
fn round_trip() {
    let capture = decode(&encoded()).unwrap();
    assert_eq!(capture.header, header());
    assert_eq!(capture.records, records());
    assert_eq!(capture.truncated_tail, 0);
}

#[test]
fn lines_are_readable_resp() {
    let text = String::from_utf8(encoded()).unwrap();
    let set = text.lines().find(|l| l.starts_with("C 2 ")).unwrap();
    assert_eq!(
        set,
        r"C 2 7 1700000000000250 - = 31:*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\x20b\\c\r\n 5:+OK\r\n"
    );
    assert!(text.contains("config 4:port 4:6379\n"));
    assert!(text.contains("config 4:save 0:\n"));
}

#[test]
fn truncated_tail_is_ignored_at_every_cut() {
    let full = encoded();
    let header_len = full.iter().position(|&b| b == b'\n').unwrap() + 1;
    let whole_records = records();
    for cut in header_len..full.len() {
        let capture = decode(&full[..cut]).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        // Every record present is whole and equal to the original.
        let n = capture.records.len();
        assert_eq!(capture.records[..], whole_records[..n], "cut at {cut}");
        let ends_line = full[cut - 1] == b'\n';
        assert_eq!(capture.truncated_tail == 0, ends_line, "cut at {cut}");
    }
    // Not even the header line is complete: not a capture.
    assert_eq!(decode(&full[..10]), Err(CaptureError::NotACapture));
    assert_eq!(decode(b""), Err(CaptureError::NotACapture));
}

#[test]
fn version_mismatch_is_an_error() {
    let text = String::from_utf8(encoded()).unwrap();
    let other = text.replacen("myongoredis-capture 1 ", "myongoredis-capture 2 ", 1);
    let err = decode(other.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        CaptureError::Version {
            found: "2".into(),
            supported: 1
        }
    );
    assert!(err.to_string().contains("version 2 is not supported"));
    assert_eq!(
        decode(b"redis-capture 1 mode=rw\n"),
        Err(CaptureError::NotACapture)
    );
}

#[test]
fn damage_is_reported_with_line_and_seq() {
    let text = String::from_utf8(encoded()).unwrap();
    // A byte removed from a payload: its length no longer matches.
    let cut = text.replacen("5:+OK", "5:+O", 1);
    let err = decode(cut.as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 5 (record seq 2): bad reply payload",
        "{err:?}"
    );
    // An unknown record type.
    let bad = text.replacen("\nE 4 ", "\nQ 4 ", 1);
    assert_eq!(
        decode(bad.as_bytes()).unwrap_err().to_string(),
        "line 7 (record seq 4): unknown record type"
    );
    // A bad escape and a stray field.
    let bad = text.replacen(r"\r\n 5:+OK", r"\q\n 5:+OK", 1);
    assert!(decode(bad.as_bytes()).is_err());
    let bad = text.replacen("\nX 7 7 1700000000200000", "\nX 7 7 1700000000200000 9", 1);
    assert_eq!(
        decode(bad.as_bytes()).unwrap_err().to_string(),
        "line 10 (record seq 7): extra fields at the end of the line"
    );
    // An eviction without its key.
    let bad = text.replacen(
        "\nV 6 1700000000000500 15 ",
        "\nV 6 1700000000000500 15\n",
        1,
    );
    assert!(decode(bad.as_bytes()).is_err());
    // A header without a mode.
    assert!(decode(b"myongoredis-capture 1 seed=1\n").is_err());
}

#[test]
fn escaping_round_trips_every_byte() {
    let all: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    let mut out = Vec::new();
    put_payload(&mut out, &all);
    assert!(!out.contains(&b' ') && !out.contains(&b'\n'));
    assert_eq!(Fields::new(&out).payload().unwrap(), all);
    assert_eq!(escaped(b"a b\r\n\"\x00"), r#""a b\r\n\"\x00""#);
}

#[test]
fn shell_dependent_commands() {
    let args = |s: &str| -> Vec<Bytes> {
        s.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    };
    assert!(shell_dependent(&args("INFO")));
    assert!(shell_dependent(&args("info keyspace")));
    assert!(shell_dependent(&args("CLIENT LIST")));
    assert!(shell_dependent(&args("client Info")));
    assert!(!shell_dependent(&args("CLIENT ID")));
    assert!(!shell_dependent(&args("TIME")));
    assert!(!shell_dependent(&args("GET info")));
    assert!(!shell_dependent(&[]));
}

#[test]
fn direct_encoding_matches_the_records() {
    use crate::exec::{Eviction, Executed, Flow, LazyExpire};
    let args: Vec<Bytes> = vec![Bytes::from_static(b"INFO")];
    for executed in [
        Executed {
            flow: Flow::Continue,
            seq: Some(9),
            rng_position: Some(12345),
            lazy_expire: Some(LazyExpire {
                seq: Some(10),
                deleted: 2,
            }),
            signal: Default::default(),
            shell_dependent: false,
            evictions: vec![
                Eviction {
                    seq: Some(7),
                    db: 2,
                    key: Bytes::from_static(b"old key\r\n"),
                },
                Eviction {
                    seq: Some(8),
                    db: 0,
                    key: Bytes::from_static(b"k"),
                },
            ],
        },
        Executed {
            flow: Flow::Continue,
            seq: None,
            rng_position: None,
            lazy_expire: None,
            signal: Default::default(),
            shell_dependent: false,
            evictions: Vec::new(),
        },
    ] {
        let mut direct = Vec::new();
        encode_command_records(
            &mut direct,
            3,
            77,
            &args,
            b"INFO\r\n",
            b"$0\r\n\r\n",
            &executed,
        );
        let mut via_records = Vec::new();
        for r in command_records(3, 77, &args, b"INFO\r\n", b"$0\r\n\r\n", &executed) {
            r.encode(&mut via_records);
        }
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            String::from_utf8(via_records).unwrap()
        );
    }
}
