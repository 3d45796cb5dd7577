//! The load client's short profile (issue 10, "Load") as CI runs it: `hamn up` on free
//! ports with a second demo host in its pool, browser sessions and native tunnels that log
//! in, launch, hold their connection and come back for about a minute
//! ([`hamn_bench::load`], the core of `hamn-load`). It asserts that nothing failed and
//! nothing was lost — every launch answered, every session showed its first frame, every
//! Ping had its Pong, every tunnel stayed open — and never asserts a time; the figures are
//! printed (`--nocapture`).

use std::path::PathBuf;

use hamn_bench::load::stack::{Binaries, Stack};
use hamn_bench::load::{Profile, run};

use crate::support::hamn_bin;

#[test]
fn the_short_load_profile_loses_nothing() {
    let hamn = PathBuf::from(hamn_bin());
    // scripts/test builds the demo host into the same target dir, beside hamn.
    let demo_host = std::env::var_os("HAMN_DEMO_HOST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| hamn.with_file_name("hamn-demo-host"));
    assert!(
        demo_host.is_file(),
        "{} is missing: `cargo build --manifest-path demo-host/Cargo.toml` (scripts/test does)",
        demo_host.display()
    );
    let bins = Binaries { hamn, demo_host };
    let options = Profile::Short.options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (report, logs) = runtime.block_on(async {
        let mut stack = Stack::up(&bins, 1)
            .await
            .expect("hamn up and a second demo host");
        let report = run(&stack, &options).await;
        let logs = stack.logs();
        stack.stop();
        (report.expect("the load ran"), logs)
    });
    println!("{}", report.table());
    println!("{:#}", report.json());
    assert!(
        report.clean(),
        "errors or losses:\n{}\n{logs}",
        report.table()
    );
    // Every user came up at least once and the users came back after their lifetime.
    assert!(
        report.sessions_opened >= options.sessions as u64
            && report.tunnels_opened >= options.tunnels as u64,
        "{}",
        report.table()
    );
    assert!(
        report.launches > (options.sessions + options.tunnels) as u64,
        "logins and launches went on after the ramp: {}",
        report.table()
    );
    assert!(report.frames > 0 && report.pings > 0 && report.pongs == report.pings);
}
