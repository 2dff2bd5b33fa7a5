//! Helpers shared by the gateway's test binaries.

use std::process::Output;

/// Runs the real `yrdx` binary.
pub async fn yrdx(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_yrdx"))
        .args(args)
        .env("YRDX_LOG", "warn")
        .output()
        .await
        .unwrap()
}

/// Exit code and both streams of `out`, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
