//! The `myongoredis` binary: parse the command line (and a redis.conf),
//! start the server library, print its start-up line. Nothing else lives
//! here: everything a test or an embedding needs is in the library.

use std::io::Write;

use myongoredis::{cli, run, ServerConfig};

fn main() {
    let config = match ServerConfig::from_invocation(cli::parse()) {
        Ok(config) => config,
        Err(e) => {
            // redis-server's own words, and its exit status.
            eprint!("{}", e.message());
            std::process::exit(1);
        }
    };
    let announce = |ready: &myongoredis::Ready| {
        // One line, flushed: tests and scripts wait for it to learn the port.
        println!("{}", ready.startup_line());
        if let Some(metrics) = ready.metrics_addr {
            println!("metrics on http://{metrics}");
        }
        let _ = std::io::stdout().flush();
    };
    if let Err(e) = run(config, announce) {
        eprintln!("myongoredis: {e}");
        std::process::exit(1);
    }
}
