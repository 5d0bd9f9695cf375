//! What the side-by-side examples share: their arguments and a minimal
//! RESP client (a blocking socket, one reply at a time), so that each
//! example is only its workload.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::str::FromStr;

use bytes::BytesMut;
use myongoredis_core::resp::{encode_request, parse_frame};
use myongoredis_core::Frame;

/// The server's address: the first argument, else Redis's default.
pub fn addr() -> String {
    std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6379".into())
}

/// Argument `i` (after the program's name) parsed, or `default`.
pub fn arg<T: FromStr>(i: usize, default: T) -> T {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// The next complete reply on `stream`; `buf` keeps what was read beyond.
pub fn read_frame(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Frame {
    let mut chunk = vec![0u8; 65536];
    loop {
        if let Ok(Some((frame, used))) = parse_frame(buf) {
            buf.drain(..used);
            return frame;
        }
        let n = stream.read(&mut chunk).expect("reads");
        assert!(n > 0, "closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Send one command and read its reply.
pub fn call(stream: &mut TcpStream, buf: &mut Vec<u8>, args: &[&[u8]]) -> Frame {
    let mut out = BytesMut::new();
    encode_request(args, &mut out);
    stream.write_all(&out).expect("writes");
    read_frame(stream, buf)
}
