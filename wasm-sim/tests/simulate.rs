//! A few seeds of `simulate`, natively and (when the guest is built) in
//! wasm. CI runs hundreds through the binary; this keeps `cargo test`
//! honest about the generator and the comparison.

use myongoredis_sim::guest::{self, Guest};
use myongoredis_sim::simulate::run_seed;
use myongoredis_sim::workload::Shape;

#[test]
fn seeds_agree_native_and_wasm() {
    let path = guest::guest_path(None);
    let guest = if path.exists() {
        Some(Guest::load(&path).expect("the guest compiles"))
    } else {
        println!(
            "note: {} is missing; running the seeds natively only",
            path.display()
        );
        None
    };
    for seed in 0..12 {
        let result = run_seed(seed, Shape::default(), guest.as_ref()).expect("runs");
        assert!(result.records > 100, "seed {seed}: a real workload");
        if let Some(why) = result.failure {
            panic!("seed {seed}: {why}\n  reproduce: myongoredis-sim simulate --seed {seed}");
        }
    }
}

#[test]
fn a_seed_is_a_reproducer() {
    let a = myongoredis_sim::workload::run(42, Shape::default());
    let b = myongoredis_sim::workload::run(42, Shape::default());
    assert_eq!(a.header, b.header);
    assert_eq!(a.records, b.records);
    let c = myongoredis_sim::workload::run(43, Shape::default());
    assert_ne!(a.records, c.records);
}
