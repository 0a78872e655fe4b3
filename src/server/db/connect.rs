//! Opening the database: the data dir's SQLite file or a PostgreSQL server, each with its
//! migrations; the server's claim on a PostgreSQL database; the task every call runs on.

use super::{migrations, Db, DbError, Engine, DB_FILE};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Executor};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// The PostgreSQL advisory lock a server holds on its database ("SWBDSRVR").
const SERVER_LOCK: i64 = 0x5357_4244_5352_5652;

impl Db {
    /// Opens (creating if needed) `switchboard.db` in `data_dir` and applies migrations.
    pub async fn open(data_dir: &Path) -> Result<Db, DbError> {
        Self::open_limited(data_dir, 0).await
    }

    /// Opens what the configuration names: the PostgreSQL server at `database.url` when
    /// there is one, else the data dir's SQLite file (capped at `limits.max_db_mib`).
    pub async fn open_configured(config: &crate::server::config::Config) -> Result<Db, DbError> {
        match &config.database_url {
            Some(url) => Self::connect_postgres(&url.0).await,
            None => Self::open_limited(&config.data_dir, config.max_db_mib).await,
        }
    }

    /// The database a server on `data_dir` stores in, for the commands that take only a
    /// data dir: PostgreSQL when `SWITCHBOARD_DATABASE_URL` names one, else the SQLite file.
    pub async fn open_for_data_dir(data_dir: &Path) -> Result<Db, DbError> {
        match std::env::var(crate::server::config::DATABASE_URL_ENV) {
            Ok(url) if !url.is_empty() => Self::connect_postgres(&url).await,
            _ => Self::open(data_dir).await,
        }
    }

    /// Like [`Db::open`], with the database capped at `max_mib` MiB (0: no cap). At the cap
    /// writes fail as on a full disk ("database or disk is full") and nothing stored is lost.
    pub async fn open_limited(data_dir: &Path, max_mib: u64) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        std::fs::create_dir_all(data_dir).map_err(|source| DbError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        // sqlx's own URL of the file (its path percent-encoded), `mode=rwc`: created if missing.
        let url = SqliteConnectOptions::new()
            .filename(data_dir.join(DB_FILE))
            .create_if_missing(true)
            .to_url_lossy();
        let options = AnyConnectOptions::from_str(url.as_str())?;
        // NORMAL in WAL mode: a power cut may lose the last commits, never corrupts.
        const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";
        // SQLite's page size here is 4 KiB: 256 pages a MiB.
        let writer_pragmas = match max_mib {
            0 => PRAGMAS.to_owned(),
            mib => format!("{PRAGMAS} PRAGMA max_page_count = {};", mib * 256),
        };
        let writer = sqlite_pool(options.clone(), 1, writer_pragmas).await?;
        migrations::migrator(Engine::Sqlite)
            .await?
            .run(&writer)
            .await?;
        let pool = sqlite_pool(options, 4, PRAGMAS.to_owned()).await?;
        Ok(Db {
            pool,
            writer,
            engine: Engine::Sqlite,
            server_claim: Arc::default(),
        })
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host/db`)
    /// and applies its migrations (under sqlx's lock: nodes starting together apply them
    /// once).
    pub async fn connect_postgres(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            // Only the scheme: the rest may hold a password.
            let scheme = url.split(':').next().unwrap_or_default().to_owned();
            return Err(DbError::Url(scheme));
        }
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .connect(url)
            .await?;
        migrations::migrator(Engine::Postgres)
            .await?
            .run(&pool)
            .await?;
        Ok(Db {
            writer: pool.clone(),
            pool,
            engine: Engine::Postgres,
            server_claim: Arc::default(),
        })
    }

    /// Runs one storage call on a task of its own and waits for its answer. A call, once
    /// begun, runs to its end even when the caller stops waiting (a socket closed, an HTTP
    /// client gone: their futures are dropped at any await): sqlx's PostgreSQL connection
    /// is not cancel-safe (a query dropped halfway can leave its connection out of step
    /// with the server, and the pool hands it on), and a write is never left half-done.
    pub(super) async fn detached<T, E, F, Fut>(&self, call: F) -> Result<T, E>
    where
        F: FnOnce(Db) -> Fut,
        Fut: std::future::Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match tokio::spawn(call(self.clone())).await {
            Ok(answer) => answer,
            Err(e) => Err(DbError::Interrupted(e.to_string()).into()),
        }
    }

    /// Claims the database until the process ends: on PostgreSQL an advisory lock on a
    /// connection of its own, shared by the server nodes (`alone` false: they share the
    /// database through leases) and exclusive for a program that writes sessions without
    /// a server (`alone`: `switchboard import`), so neither runs beside the other. Refused
    /// with [`DbError::InUse`] while the other kind holds it. Nothing to do on SQLite: the
    /// data dir's lock file already keeps a second writer out.
    pub async fn claim(&self, alone: bool) -> Result<(), DbError> {
        let Engine::Postgres = self.engine else {
            return Ok(());
        };
        let mut holder = self.pool.acquire().await?.detach();
        let sql = match alone {
            true => "SELECT pg_try_advisory_lock($1)",
            false => "SELECT pg_try_advisory_lock_shared($1)",
        };
        let claimed: bool = sqlx::query_scalar(sql)
            .bind(SERVER_LOCK)
            .fetch_one(&mut holder)
            .await?;
        if !claimed {
            return Err(DbError::InUse);
        }
        // Held as long as the connection lives: while any clone of this handle does.
        *self
            .server_claim
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(holder);
        Ok(())
    }

    /// The engine this handle stores in.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// SQLite's own check of the whole file: "ok" when nothing is damaged. PostgreSQL
    /// checks its pages itself; there this asks it to answer ("ok" when it does).
    pub async fn integrity_check(&self) -> Result<String, DbError> {
        self.detached(move |db| async move {
            let sql = match db.engine {
                Engine::Sqlite => "PRAGMA integrity_check",
                Engine::Postgres => "SELECT 'ok'",
            };
            let (answer,): (String,) = sqlx::query_as(sql).fetch_one(&db.pool).await?;
            Ok(answer)
        })
        .await
    }

    /// Moves everything in SQLite's write-ahead log into the database file (so the file
    /// alone is a whole copy; benchmarks keep one). Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), DbError> {
        self.detached(move |db| async move {
            if db.engine == Engine::Sqlite {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&db.writer)
                    .await?;
            }
            Ok(())
        })
        .await
    }
}

/// A pool of `connections` to the SQLite file, each set up with `pragmas` when it opens.
async fn sqlite_pool(
    options: AnyConnectOptions,
    connections: u32,
    pragmas: String,
) -> Result<AnyPool, DbError> {
    let pool = AnyPoolOptions::new()
        .max_connections(connections)
        .after_connect(move |conn, _| {
            let pragmas = pragmas.clone();
            Box::pin(async move {
                conn.execute(pragmas.as_str()).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(pool)
}
