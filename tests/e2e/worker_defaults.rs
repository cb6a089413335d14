//! Every role on one host with the defaults: `agusto worker` does not take
//! the ingress's 127.0.0.1:8080.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::cluster::{Backend, Broker, Cluster};
use crate::common::binary;

/// What `agusto worker webhooks` printed on stdout up to its listening line,
/// or (when it exited first) its stdout and stderr.
fn first_words(cluster: &Cluster, env_listen: Option<&str>) -> String {
    let mut cmd = binary();
    cmd.args(["worker", "webhooks"])
        .env_remove("AGUSTO_LISTEN")
        .env_remove("AGUSTO_WORKER_LISTEN")
        .env_remove("AGUSTO_CONFIG")
        .env("RUST_LOG", "warn")
        .env("AGUSTO_DATA_DIR", &cluster.dir)
        .envs(cluster.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(l) = env_listen {
        cmd.env("AGUSTO_LISTEN", l);
    }
    let mut child = cmd.spawn().expect("agusto starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.contains(" listening on ");
            if tx.send(line).is_err() || done {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = String::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(" listening on ") {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                // Exited (e.g. the port is taken by another program): its
                // error names the address it tried.
                let _ = child.wait();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                seen.push_str(&err);
                break;
            }
        }
        assert!(Instant::now() < deadline, "no listening line: {seen}");
    }
    let _ = child.kill();
    let _ = child.wait();
    seen
}

#[tokio::test]
async fn a_worker_listens_on_9464_by_default_and_on_agusto_listen_when_set() {
    let broker = Broker::start();
    let cluster = Cluster::new("worker-defaults", &broker, Backend::Sqlite).expect("sqlite");
    let default = first_words(&cluster, None);
    assert!(
        default.contains("127.0.0.1:9464"),
        "the worker's default address: {default}"
    );
    assert!(!default.contains(":8080"), "{default}");
    let chosen = first_words(&cluster, Some("127.0.0.1:0"));
    assert!(
        chosen.contains("agusto worker Webhooks listening on http://127.0.0.1:")
            && !chosen.contains(":9464"),
        "AGUSTO_LISTEN wins: {chosen}"
    );
}
