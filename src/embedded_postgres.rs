//! A private PostgreSQL server for zero-configuration starts.
//!
//! When no `DATABASE_URL` is given, the service runs its own cluster from the PostgreSQL
//! server programs installed on the machine. The server listens only on a Unix socket in a
//! private (0700) directory, on a random port number, so nothing else on the machine can
//! reach it; its data lives in a directory under the working directory and survives restarts.
//! PostgreSQL refuses to run as root, so a root process runs the programs as `postgres`.

use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlx::postgres::PgConnectOptions;

/// The superuser created by `initdb` and used by the service.
const SUPERUSER: &str = "postgres";
/// The database the service keeps its data in (created by the service on first start).
pub const DATABASE_NAME: &str = "msc_readiness";
/// The unprivileged account that runs the server when the service runs as root.
const UNPRIVILEGED_ACCOUNT: &str = "postgres";

/// Why the embedded server could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPostgresError {
    #[error(
        "No PostgreSQL server programs (initdb, pg_ctl, postgres) were found (searched: {searched}). \
         Without DATABASE_URL the service runs a private PostgreSQL server of its own and needs them. \
         There are three ways out: install PostgreSQL (e.g. the Debian package `postgresql`: \
         `sudo apt-get install postgresql`); or set DATABASE_URL to an existing server \
         (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres); \
         or run the service with its database in containers: `docker compose up`."
    )]
    ProgramsNotFound { searched: String },
    #[error(
        "the service runs as root and PostgreSQL refuses to; no `{UNPRIVILEGED_ACCOUNT}` account exists to run it as (create one, or set DATABASE_URL)"
    )]
    NoUnprivilegedAccount,
    #[error("{action} failed: {detail}")]
    Command { action: String, detail: String },
    #[error("cannot prepare {path}: {source}")]
    Filesystem { path: PathBuf, source: std::io::Error },
    #[error(
        "another msc-readiness process already runs the embedded PostgreSQL in {data_dir} (it holds {lock}); \
         stop it first, or give this one its own EMBEDDED_DB_DIR"
    )]
    InUse { data_dir: PathBuf, lock: PathBuf },
}

/// Where to look for the server programs.
#[derive(Clone, Debug)]
pub struct ProgramSearch {
    /// Directories tried in order (from `PATH`, or an explicit directory).
    pub directories: Vec<PathBuf>,
    /// Whether to also ask `pg_config --bindir` and scan `/usr/lib/postgresql/*/bin`.
    pub system_locations: bool,
}

impl ProgramSearch {
    /// The search the service uses: an explicit directory only, or `PATH` plus the system locations.
    pub fn new(explicit_dir: Option<&Path>) -> Self {
        match explicit_dir {
            Some(dir) => Self { directories: vec![dir.to_owned()], system_locations: false },
            None => Self {
                directories: std::env::var_os("PATH")
                    .map(|path| std::env::split_paths(&path).collect())
                    .unwrap_or_default(),
                system_locations: true,
            },
        }
    }

    /// Returns the first directory holding all three server programs.
    pub fn find(&self) -> Result<PathBuf, EmbeddedPostgresError> {
        let mut candidates = self.directories.clone();
        if self.system_locations {
            if let Some(dir) = pg_config_bindir() {
                candidates.push(dir);
            }
            candidates.extend(debian_bindirs());
        }
        candidates
            .iter()
            .find(|dir| ["initdb", "pg_ctl", "postgres"].iter().all(|program| dir.join(program).is_file()))
            // PATH often holds symlinks (/usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl);
            // the real directory keeps the programs of one version together.
            .map(|dir| {
                fs::canonicalize(dir.join("pg_ctl"))
                    .ok()
                    .and_then(|program| program.parent().map(Path::to_owned))
                    .unwrap_or_else(|| dir.clone())
            })
            .ok_or_else(|| EmbeddedPostgresError::ProgramsNotFound {
                searched: if candidates.is_empty() {
                    "nowhere: the search path is empty".to_owned()
                } else {
                    candidates.iter().map(|dir| dir.display().to_string()).collect::<Vec<_>>().join(", ")
                },
            })
    }
}

fn pg_config_bindir() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| PathBuf::from(dir.trim()))
}

/// Debian installs each major version under `/usr/lib/postgresql/<major>/bin`; newest first.
fn debian_bindirs() -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// A running private server. Stopped by [`EmbeddedPostgres::stop`] or, as a last resort, on drop.
///
/// A service owns its data directory: it holds an exclusive lock on `<data dir>.lock` for as long
/// as it runs (the kernel releases it when the process dies, however it dies), so a second
/// instance on the same directory refuses to start instead of attaching to a server the first one
/// will stop. A server found running with the lock free is a leftover of a killed service: it is
/// adopted, supervised and stopped like one this process started.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    run_as: Option<Account>,
    /// False when attached without the lock ([`EmbeddedPostgres::attach_shared`]): not ours to stop.
    owned: bool,
    stopped: bool,
    /// The data directory's lock, held while this value lives.
    _lock: Option<fs::File>,
}

#[derive(Clone, Copy, Debug)]
struct Account {
    uid: nix::unistd::Uid,
    gid: nix::unistd::Gid,
}

impl EmbeddedPostgres {
    /// Takes the data directory's lock, initialises the cluster in `data_dir` if it is new, then
    /// starts it, or adopts it when a killed service left it running. Blocking.
    pub fn start(data_dir: &Path, search: &ProgramSearch) -> Result<Self, EmbeddedPostgresError> {
        let data_dir = absolute(data_dir)?;
        let lock = lock_data_directory(&data_dir)?;
        let mut server = Self::provide(&data_dir, search)?;
        if !server.owned {
            tracing::warn!(
                data_dir = %data_dir.display(),
                "adopting the embedded PostgreSQL a killed service left running on this data directory"
            );
            server.owned = true;
        }
        server._lock = Some(lock);
        Ok(server)
    }

    /// Like [`EmbeddedPostgres::start`] but without the lock, attaching to a running server without
    /// owning it: for a server several processes share on purpose, such as the tests' own.
    pub fn attach_shared(data_dir: &Path, search: &ProgramSearch) -> Result<Self, EmbeddedPostgresError> {
        Self::provide(&absolute(data_dir)?, search)
    }

    /// Initialises the cluster in `data_dir` if it is new, then starts it, or attaches to it when
    /// it is already running (not owned then).
    fn provide(data_dir: &Path, search: &ProgramSearch) -> Result<Self, EmbeddedPostgresError> {
        let bin_dir = search.find()?;
        let run_as = unprivileged_account()?;
        let data_dir = data_dir.to_owned();
        prepare_directory(&data_dir, run_as)?;

        if !data_dir.join("PG_VERSION").is_file() {
            tracing::info!(data_dir = %data_dir.display(), "initialising a new embedded PostgreSQL cluster");
            let mut initdb = Command::new(bin_dir.join("initdb"));
            initdb.arg("--pgdata").arg(&data_dir).args([
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-locale",
            ]);
            run(&mut initdb, run_as, "initdb")?;
        }

        if let Some((port, socket_dir)) = running_server(&data_dir) {
            return Ok(Self {
                bin_dir,
                data_dir,
                socket_dir,
                port,
                run_as,
                owned: false,
                stopped: false,
                _lock: None,
            });
        }

        let port = free_port()?;
        let socket_dir = std::env::temp_dir().join(format!("msc-readiness-pg-{}-{port}", std::process::id()));
        let server =
            Self { bin_dir, data_dir, socket_dir, port, run_as, owned: true, stopped: false, _lock: None };
        server.launch()?;
        Ok(server)
    }

    /// Starts the server process on this value's port and socket directory.
    fn launch(&self) -> Result<(), EmbeddedPostgresError> {
        prepare_directory(&self.socket_dir, self.run_as)?;
        let server_options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c unix_socket_permissions=0700 -p {}",
            self.socket_dir.display(),
            self.port
        );
        let mut pg_ctl = Command::new(self.bin_dir.join("pg_ctl"));
        pg_ctl
            .arg("start")
            .arg("--pgdata")
            .arg(&self.data_dir)
            .arg("--log")
            .arg(self.data_dir.join("server.log"))
            .args(["--wait", "--timeout", "60", "--silent", "-o", &server_options])
            // Own process group: a Ctrl-C in the terminal must reach the service, which then drains
            // its requests and stops the server in order, not the server directly.
            .process_group(0);
        run(&mut pg_ctl, self.run_as, "pg_ctl start").map_err(|error| match error {
            // pg_ctl says only that the server did not start; the reason (a full disk, a
            // corrupt file, a port in use) is in server.log, so its end goes into the error.
            EmbeddedPostgresError::Command { action, detail } => EmbeddedPostgresError::Command {
                action,
                detail: with_log_tail(detail, &self.data_dir.join("server.log")),
            },
            other => other,
        })?;
        tracing::info!(
            data_dir = %self.data_dir.display(),
            socket_dir = %self.socket_dir.display(),
            port = self.port,
            "embedded PostgreSQL started"
        );
        Ok(())
    }

    /// Whether the server's postmaster is running.
    pub fn is_running(&self) -> bool {
        running_server(&self.data_dir).is_some()
    }

    /// Starts the server again after it died, on the same socket, so the pool's new connections
    /// reach it without any change. Blocking.
    pub fn restart(&mut self) -> Result<(), EmbeddedPostgresError> {
        self.launch()
    }

    /// Connection options for the service's database on this server.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.connect_options_for(DATABASE_NAME)
    }

    /// Connection options for any database on this server (tests create one per test).
    pub fn connect_options_for(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host(&self.socket_dir.to_string_lossy())
            .port(self.port)
            .username(SUPERUSER)
            .database(database)
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops the server (fast shutdown: open sessions are ended, committed data is kept). Blocking.
    pub fn stop(&mut self) -> Result<(), EmbeddedPostgresError> {
        if self.stopped || !self.owned {
            return Ok(());
        }
        self.stopped = true;
        let server = postmaster_pid(&self.data_dir);
        let mut pg_ctl = Command::new(self.bin_dir.join("pg_ctl"));
        pg_ctl.arg("stop").arg("--pgdata").arg(&self.data_dir).args(["--mode", "fast", "--wait", "--silent"]);
        let result = run(&mut pg_ctl, self.run_as, "pg_ctl stop");
        // `pg_ctl --wait` returns once the server has removed its `postmaster.pid`, a moment before
        // the process exits; whoever starts next on this data directory, or checks that nothing is
        // left behind, should find it gone. Not this process's child when adopted, so it is watched
        // for (a few milliseconds in practice; bounded, in case the process hangs on its way out).
        if let Some(pid) = server {
            for _ in 0..500 {
                if !process_running(pid) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        let _ = fs::remove_dir_all(&self.socket_dir);
        tracing::info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL stopped");
        result.map(|_| ())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::error!(%error, "could not stop the embedded PostgreSQL");
        }
    }
}

/// Takes the exclusive lock of `data_dir`: the file `<data dir>.lock` beside it (the directory
/// itself must stay empty until `initdb` fills it), locked with `flock`.
fn lock_data_directory(data_dir: &Path) -> Result<fs::File, EmbeddedPostgresError> {
    let mut name = data_dir.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let failed = |source| EmbeddedPostgresError::Filesystem { path: path.clone(), source };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(failed)?;
    }
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(failed)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => {
            Err(EmbeddedPostgresError::InUse { data_dir: data_dir.to_owned(), lock: path })
        }
        Err(fs::TryLockError::Error(source)) => Err(failed(source)),
    }
}

/// When the service runs as root, the server runs as the unprivileged account.
fn unprivileged_account() -> Result<Option<Account>, EmbeddedPostgresError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match nix::unistd::User::from_name(UNPRIVILEGED_ACCOUNT) {
        Ok(Some(user)) => Ok(Some(Account { uid: user.uid, gid: user.gid })),
        _ => Err(EmbeddedPostgresError::NoUnprivilegedAccount),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, EmbeddedPostgresError> {
    std::path::absolute(path)
        .map_err(|source| EmbeddedPostgresError::Filesystem { path: path.to_owned(), source })
}

/// Creates `dir` with mode 0700, owned by the account that runs the server.
fn prepare_directory(dir: &Path, run_as: Option<Account>) -> Result<(), EmbeddedPostgresError> {
    let failed = |source| EmbeddedPostgresError::Filesystem { path: dir.to_owned(), source };
    fs::create_dir_all(dir).map_err(failed)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(failed)?;
    if let Some(account) = run_as {
        chown(dir, Some(account.uid.as_raw()), Some(account.gid.as_raw())).map_err(failed)?;
    }
    Ok(())
}

/// Whether process `pid` runs. Signal 0 only checks that the process exists (a stale
/// `postmaster.pid` after a crash fails here); a process that exited but is not reaped yet (a
/// zombie, when this process is its reaper, as PID 1 of a container is) does not run either.
fn process_running(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
        && !fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit(')').next().is_some_and(|state| state.trim_start().starts_with('Z'))
        })
}

/// The pid in `data_dir`'s `postmaster.pid`, if it has one.
fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    fs::read_to_string(data_dir.join("postmaster.pid")).ok()?.lines().next()?.trim().parse().ok()
}

/// Reads the port and socket directory of a live server from its `postmaster.pid`.
fn running_server(data_dir: &Path) -> Option<(u16, PathBuf)> {
    let pid_file = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let lines: Vec<&str> = pid_file.lines().collect();
    let pid: i32 = lines.first()?.trim().parse().ok()?;
    if !process_running(pid) {
        return None;
    }
    let port = lines.get(3)?.trim().parse().ok()?;
    let socket_dir = PathBuf::from(lines.get(4)?.trim());
    Some((port, socket_dir))
}

fn free_port() -> Result<u16, EmbeddedPostgresError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|source| EmbeddedPostgresError::Filesystem { path: PathBuf::from("127.0.0.1:0"), source })
}

/// Lines of server.log quoted in a failed start's error.
const LOG_TAIL_LINES: usize = 5;

/// `detail`, followed by the last lines of the server's log when it can be read.
fn with_log_tail(detail: String, log: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(log) else { return detail };
    let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join(" | ");
    if tail.is_empty() { detail } else { format!("{detail}; {} ends: {tail}", log.display()) }
}

fn run(
    command: &mut Command,
    run_as: Option<Account>,
    action: &str,
) -> Result<Output, EmbeddedPostgresError> {
    if let Some(account) = run_as {
        command.uid(account.uid.as_raw()).gid(account.gid.as_raw());
    }
    let output = command.output().map_err(|error| EmbeddedPostgresError::Command {
        action: action.to_owned(),
        detail: error.to_string(),
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let detail = format!("{} {}", stderr.trim(), stdout.trim()).trim().to_owned();
        Err(EmbeddedPostgresError::Command {
            action: action.to_owned(),
            detail: if detail.is_empty() { output.status.to_string() } else { detail },
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failed_start_quotes_the_end_of_the_server_log() {
        let log = std::env::temp_dir().join(format!("server-{}.log", uuid::Uuid::now_v7().simple()));
        std::fs::write(
            &log,
            "LOG:  starting\n\nFATAL:  could not write lock file \"postmaster.pid\": No space left on device\n",
        )
        .unwrap();
        let detail = super::with_log_tail("pg_ctl: could not start server".into(), &log);
        std::fs::remove_file(&log).unwrap();
        assert!(detail.starts_with("pg_ctl: could not start server; "), "{detail}");
        assert!(detail.ends_with("LOG:  starting | FATAL:  could not write lock file \"postmaster.pid\": No space left on device"), "{detail}");
        let missing = std::env::temp_dir().join("no-such-server.log");
        assert_eq!(super::with_log_tail("x".into(), &missing), "x");
    }

    use super::*;

    #[test]
    fn an_empty_search_path_names_the_three_ways_out() {
        let search = ProgramSearch { directories: vec![], system_locations: false };
        let message = search.find().expect_err("nothing to find").to_string();
        assert!(message.contains("apt-get install postgresql"), "{message}");
        assert!(message.contains("DATABASE_URL"), "{message}");
        assert!(message.contains("docker compose up"), "{message}");
    }
}
