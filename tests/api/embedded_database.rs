//! The zero-configuration path: the service binary with no DATABASE_URL runs its own PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;

const BINARY: &str = env!("CARGO_BIN_EXE_msc-readiness");

fn scratch_dir() -> PathBuf {
    // The system temp directory, not target/: when the tests run as root, the server runs as
    // `postgres`, which must be able to reach its data directory.
    let dir = std::env::temp_dir().join(format!("msc-readiness-embedded-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The service process; killed if a failing test leaves it running.
struct Service(Option<Child>);

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn service(data_dir: &Path, port: u16) -> Service {
    let child = Command::new(BINARY)
        .env_remove("DATABASE_URL")
        .env("EMBEDDED_DB_DIR", data_dir)
        .env("PORT", port.to_string())
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("service binary starts");
    Service(Some(child))
}

/// Polls `/readyz` until it answers 200: the condition the test waits for, bounded.
async fn wait_until_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let client = reqwest::Client::new();
    loop {
        let response = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await;
        if response.is_ok_and(|response| response.status() == 200) {
            return;
        }
        assert!(Instant::now() < deadline, "service not ready within 90 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn terminate(mut service: Service) {
    let mut child = service.0.take().expect("service running");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "service exits cleanly on SIGTERM: {status}");
}

/// The server's pid, port and socket directory, from its `postmaster.pid`.
fn postmaster(data_dir: &Path) -> (i32, PgConnectOptions) {
    let pid_file = std::fs::read_to_string(data_dir.join("postmaster.pid")).expect("server running");
    let lines: Vec<&str> = pid_file.lines().collect();
    let options = PgConnectOptions::new()
        .host(lines[4].trim())
        .port(lines[3].trim().parse().unwrap())
        .username("postgres")
        .database("msc_readiness");
    (lines[0].trim().parse().unwrap(), options)
}

/// Whether `pid` is a live process; an exited one awaiting reaping by init (a zombie) is not.
fn process_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

#[tokio::test]
async fn starts_from_nothing_stops_its_server_and_finds_its_data_after_a_restart() {
    let scratch = scratch_dir();
    let data_dir = scratch.join("data/postgres");
    let port = free_port();

    let first = service(&data_dir, port);
    wait_until_ready(port).await;
    let (server_pid, options) = postmaster(&data_dir);
    let mut connection = sqlx::PgConnection::connect_with(&options).await.unwrap();
    let migrations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(&mut connection).await.unwrap();
    assert!(migrations >= 1, "migrations applied at start");
    sqlx::raw_sql("CREATE TABLE restart_marker (note text); INSERT INTO restart_marker VALUES ('kept')")
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    terminate(first).await;

    assert!(!process_alive(server_pid), "no postgres process left behind");
    assert!(!data_dir.join("postmaster.pid").exists(), "the server shut down cleanly");

    let second = service(&data_dir, port);
    wait_until_ready(port).await;
    let (_, options) = postmaster(&data_dir);
    let mut connection = sqlx::PgConnection::connect_with(&options).await.unwrap();
    let note: String =
        sqlx::query_scalar("SELECT note FROM restart_marker").fetch_one(&mut connection).await.unwrap();
    assert_eq!(note, "kept");
    connection.close().await.unwrap();
    terminate(second).await;

    std::fs::remove_dir_all(scratch).unwrap();
}

#[tokio::test]
async fn without_server_programs_the_service_names_the_three_ways_out() {
    let scratch = scratch_dir();
    let empty_search_path = scratch.join("no-programs-here");
    std::fs::create_dir_all(&empty_search_path).unwrap();

    let output = Command::new(BINARY)
        .env_remove("DATABASE_URL")
        .env("POSTGRES_BIN_DIR", &empty_search_path)
        .env("EMBEDDED_DB_DIR", scratch.join("data"))
        .env("PORT", free_port().to_string())
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("No PostgreSQL server programs"), "{stderr}");
    assert!(stderr.contains("apt-get install postgresql"), "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(stderr.contains("docker compose up"), "{stderr}");
    std::fs::remove_dir_all(scratch).unwrap();
}

#[tokio::test]
async fn an_invalid_setting_stops_the_start_with_one_line_naming_it() {
    let output = Command::new(BINARY).env("PORT", "eighty").output().unwrap();

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("PORT"), "{stderr}");
}

fn signal(service: &Service, signal: nix::sys::signal::Signal) {
    let pid = service.0.as_ref().expect("service running").id();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()), signal).unwrap();
}

async fn exit_status(mut service: Service) -> std::process::ExitStatus {
    let mut child = service.0.take().expect("service running");
    tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap()
}

#[tokio::test]
async fn sighup_stops_the_service_and_its_server_in_order_like_sigterm() {
    let scratch = scratch_dir();
    let data_dir = scratch.join("data/postgres");
    let port = free_port();
    let running = service(&data_dir, port);
    wait_until_ready(port).await;
    let (server_pid, _) = postmaster(&data_dir);

    signal(&running, nix::sys::signal::Signal::SIGHUP);

    let status = exit_status(running).await;
    assert!(status.success(), "the terminal closing is an orderly stop: {status}");
    assert!(!process_alive(server_pid), "no postgres process left behind");
    assert!(!data_dir.join("postmaster.pid").exists(), "the server shut down cleanly");
    std::fs::remove_dir_all(scratch).unwrap();
}

#[tokio::test]
async fn a_second_instance_on_the_same_data_directory_refuses_to_start_and_the_first_keeps_its_server() {
    let scratch = scratch_dir();
    let data_dir = scratch.join("data/postgres");
    let port = free_port();
    let first = service(&data_dir, port);
    wait_until_ready(port).await;
    let (server_pid, _) = postmaster(&data_dir);

    let second = Command::new(BINARY)
        .env_remove("DATABASE_URL")
        .env("EMBEDDED_DB_DIR", &data_dir)
        .env("PORT", free_port().to_string())
        .env("LOG_LEVEL", "warn")
        .output()
        .unwrap();

    assert!(!second.status.success(), "a second instance on the same data directory does not start");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("another msc-readiness process"), "{stderr}");
    assert!(process_alive(server_pid), "the first instance's server is untouched");
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    terminate(first).await;
    assert!(!process_alive(server_pid));
    std::fs::remove_dir_all(scratch).unwrap();
}

#[tokio::test]
async fn the_server_of_a_killed_service_is_adopted_and_stopped_by_the_next_one() {
    let scratch = scratch_dir();
    let data_dir = scratch.join("data/postgres");
    let port = free_port();
    let killed = service(&data_dir, port);
    wait_until_ready(port).await;
    let (server_pid, _) = postmaster(&data_dir);
    signal(&killed, nix::sys::signal::Signal::SIGKILL);
    exit_status(killed).await;
    assert!(process_alive(server_pid), "kill -9 leaves the server running");

    let next = service(&data_dir, port);
    wait_until_ready(port).await;
    assert_eq!(postmaster(&data_dir).0, server_pid, "the running server is adopted, not replaced");
    terminate(next).await;

    assert!(!process_alive(server_pid), "the adopting service stops the server it adopted");
    assert!(!data_dir.join("postmaster.pid").exists());
    std::fs::remove_dir_all(scratch).unwrap();
}

#[tokio::test]
async fn a_server_that_dies_under_the_service_is_restarted_and_the_service_recovers() {
    let scratch = scratch_dir();
    let data_dir = scratch.join("data/postgres");
    let port = free_port();
    let running = service(&data_dir, port);
    wait_until_ready(port).await;
    let (server_pid, _) = postmaster(&data_dir);

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server_pid), nix::sys::signal::Signal::SIGKILL)
        .unwrap();

    // Ready again, on a new postmaster: the service noticed, restarted it, and its pool reconnected.
    let deadline = Instant::now() + Duration::from_secs(90);
    let client = reqwest::Client::new();
    loop {
        let restarted = std::fs::read_to_string(data_dir.join("postmaster.pid"))
            .ok()
            .and_then(|file| file.lines().next().and_then(|pid| pid.trim().parse::<i32>().ok()))
            .is_some_and(|pid| pid != server_pid && process_alive(pid));
        let ready = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await;
        if restarted && ready.is_ok_and(|response| response.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "the service did not recover within 90 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (new_pid, _) = postmaster(&data_dir);
    terminate(running).await;
    assert!(!process_alive(new_pid), "the restarted server is stopped with the service");
    std::fs::remove_dir_all(scratch).unwrap();
}
