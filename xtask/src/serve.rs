//! Runs `wrangler dev` (workerd + local KV + the app's files): in the foreground for `cargo xtask dev`,
//! in the background for browser tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::setup::Tools;
use crate::step;

/// `wrangler dev` with `vars` (name, value) set for the worker, over edge/.dev.vars.
fn wrangler(tools: &Tools, port: u16, state: &Path, vars: &[(&str, String)]) -> Command {
    let mut cmd = tools.command(tools.npm_bin("wrangler"));
    cmd.args(["dev", "--config", "edge/wrangler.toml", "--ip", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .arg("--persist-to")
        .arg(state);
    for (name, value) in vars {
        cmd.arg("--var").arg(format!("{name}:{value}"));
    }
    cmd
}

/// True once the API answers the feed with 200.
fn ready(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = "GET /api/feed?limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn wait_ready(child: &mut Child, port: u16, log: Option<&Path>) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(90) {
        if let Some(status) = child.try_wait()? {
            let tail = log.and_then(|l| std::fs::read_to_string(l).ok()).unwrap_or_default();
            bail!("wrangler dev exited ({status}) before serving:\n{tail}");
        }
        if ready(port) {
            println!("  ready in {:.1} s", start.elapsed().as_secs_f64());
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    bail!("wrangler dev did not answer /api/feed on port {port} within 90 s")
}

/// A free TCP port on loopback for a test server.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?.local_addr()?.port())
}

/// `cargo xtask dev`: serve until Ctrl-C, which reaches wrangler through the shared process group.
pub fn dev_forever(tools: &Tools, port: u16, state: &Path) -> Result<()> {
    step(&format!("start wrangler dev on http://127.0.0.1:{port}"));
    // Ctrl-C goes to wrangler too; we only outlive it to report how it ended.
    ctrlc::set_handler(|| {}).context("cannot install Ctrl-C handler")?;
    let mut child = wrangler(tools, port, state, &[]).spawn().context("cannot start wrangler dev")?;
    if let Err(e) = wait_ready(&mut child, port, None) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    println!("\n  The store is running at http://127.0.0.1:{port}  (Ctrl-C stops it)\n");
    let status = child.wait()?;
    println!("wrangler dev stopped ({status})");
    Ok(())
}

/// A background `wrangler dev` for tests, stopped (with its workerd) when dropped.
#[derive(Debug)]
pub struct Wrangler {
    child: Child,
}

impl Wrangler {
    pub fn start(tools: &Tools, port: u16, state: &Path, vars: &[(&str, String)]) -> Result<Wrangler> {
        step(&format!("start wrangler dev on port {port} (log: target/xtask/wrangler.log)"));
        let log_path = tools.root.join("target/xtask/wrangler.log");
        let log = std::fs::File::create(&log_path).context("cannot create wrangler log")?;
        let mut child = wrangler(tools, port, state, vars)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .context("cannot start wrangler dev")?;
        GROUP.store(child.id(), std::sync::atomic::Ordering::SeqCst);
        if let Err(e) = wait_ready(&mut child, port, Some(&log_path)) {
            let _ = Wrangler { child };
            return Err(e);
        }
        Ok(Wrangler { child })
    }
}

/// Process group of the running test server, for the Ctrl-C handler.
static GROUP: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Signals a whole process group with procps `kill`; false when that is not possible.
fn signal_group(group: u32, signal: &str) -> bool {
    Command::new("kill").args(["-s", signal, "--", &format!("-{group}")]).status().is_ok_and(|s| s.success())
}

/// On Ctrl-C during tests, stop the server's whole group too (it has its own group, so the
/// terminal's signal does not reach it), then exit.
pub fn stop_group_on_ctrl_c() {
    let _ = ctrlc::set_handler(|| {
        let group = GROUP.load(std::sync::atomic::Ordering::SeqCst);
        if group != 0 {
            signal_group(group, "TERM");
        }
        std::process::exit(130);
    });
}

impl Drop for Wrangler {
    fn drop(&mut self) {
        // The whole group: wrangler leaves workerd running if only the node process dies.
        let id = self.child.id();
        GROUP.store(0, std::sync::atomic::Ordering::SeqCst);
        if !signal_group(id, "TERM") {
            // No procps `kill`: stop at least wrangler itself, which stops its workerd on SIGKILL
            // only by luck; say so.
            eprintln!(
                "xtask: cannot signal process group {id} (is procps installed?); killing wrangler only"
            );
            let _ = self.child.kill();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if !signal_group(id, "KILL") {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
