//! Where jobs live on disk: `<data_dir>/<tenant_id>/spool/` for documents arriving and
//! PDFs being written, `<data_dir>/<tenant_id>/jobs/<job_id>.pdf` for finished ones (the
//! gateway reads them from the same directory). A file reaches `jobs/` only by rename,
//! so a reader never sees half a PDF; spool files are removed on every way out.
//! Retention: [`Store::purge`] deletes the files of jobs whose `expires_at` has passed,
//! then marks their rows purged, so a crash between the two only repeats a delete.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hamn_broker::db::{Database, DbError};
use hamn_broker::repo;
use time::OffsetDateTime;
use uuid::Uuid;

/// Rows one purge pass handles; the next minute takes the rest.
const PURGE_BATCH: u32 = 500;

/// The directory tree of finished and arriving jobs.
#[derive(Debug, Clone)]
pub struct Store {
    data_dir: PathBuf,
    retention: Duration,
}

/// The finished PDF of a job, wherever the store keeps it.
pub fn pdf_path(data_dir: &Path, tenant_id: Uuid, job_id: Uuid) -> PathBuf {
    data_dir
        .join(tenant_id.to_string())
        .join("jobs")
        .join(format!("{job_id}.pdf"))
}

/// A spool file that deletes itself unless kept: every early return cleans up.
#[derive(Debug)]
pub struct SpoolFile {
    path: PathBuf,
}

impl SpoolFile {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        if self.path.as_os_str().is_empty() {
            return;
        }
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), "cannot remove spool file: {e}");
        }
    }
}

/// What one purge pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Rows marked purged.
    pub jobs: usize,
    /// Files deleted (a job without a file, refused or already gone, counts only above).
    pub files: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("cannot delete {path}: {source}")]
    Delete {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Store {
    pub fn new(data_dir: PathBuf, retention: Duration) -> Self {
        Self {
            data_dir,
            retention,
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn retention(&self) -> Duration {
        self.retention
    }

    fn tenant_dir(&self, tenant_id: Uuid, sub: &str) -> PathBuf {
        self.data_dir.join(tenant_id.to_string()).join(sub)
    }

    /// A new, empty spool path for `job_id` (`what` tells the document from the PDF).
    /// The directory is created when missing; the file is not.
    pub async fn spool(
        &self,
        tenant_id: Uuid,
        job_id: Uuid,
        what: &str,
    ) -> std::io::Result<SpoolFile> {
        let dir = self.tenant_dir(tenant_id, "spool");
        tokio::fs::create_dir_all(&dir).await?;
        Ok(SpoolFile {
            path: dir.join(format!("{job_id}.{what}")),
        })
    }

    /// Moves the finished PDF at `spooled` to its place in `jobs/`.
    pub async fn keep(
        &self,
        spooled: SpoolFile,
        tenant_id: Uuid,
        job_id: Uuid,
    ) -> std::io::Result<PathBuf> {
        let dir = self.tenant_dir(tenant_id, "jobs");
        tokio::fs::create_dir_all(&dir).await?;
        let target = pdf_path(&self.data_dir, tenant_id, job_id);
        let mut spooled = spooled;
        tokio::fs::rename(spooled.path(), &target).await?;
        // Renamed away: nothing is left for the guard to delete.
        spooled.path = PathBuf::new();
        Ok(target)
    }

    /// Deletes spool files last written before `now - older_than`: what a print service
    /// that crashed mid-job left behind (a live job's files are younger: it writes as the
    /// document arrives and renders within the Ghostscript timeout). The count removed.
    pub async fn remove_stale_spool(&self, now: OffsetDateTime, older_than: Duration) -> usize {
        let cutoff = now - time::Duration::try_from(older_than).unwrap_or(time::Duration::HOUR);
        let mut removed = 0;
        let Ok(mut tenants) = tokio::fs::read_dir(&self.data_dir).await else {
            return 0;
        };
        while let Ok(Some(tenant)) = tenants.next_entry().await {
            let Ok(mut files) = tokio::fs::read_dir(tenant.path().join("spool")).await else {
                continue;
            };
            while let Ok(Some(file)) = files.next_entry().await {
                let written = match file.metadata().await.and_then(|m| m.modified()) {
                    Ok(at) => OffsetDateTime::from(at),
                    Err(_) => continue,
                };
                if written >= cutoff {
                    continue;
                }
                match tokio::fs::remove_file(file.path()).await {
                    Ok(()) => removed += 1,
                    Err(e) => {
                        tracing::warn!(path = %file.path().display(), "stale spool file: {e}")
                    }
                }
            }
        }
        removed
    }

    /// Deletes job `job_id`'s PDF; a missing file is fine.
    pub async fn delete(&self, tenant_id: Uuid, job_id: Uuid) -> Result<bool, PurgeError> {
        let path = pdf_path(&self.data_dir, tenant_id, job_id);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(PurgeError::Delete { path, source }),
        }
    }

    /// When a job created at `now` expires.
    pub fn expires_at(&self, now: OffsetDateTime) -> OffsetDateTime {
        now + time::Duration::try_from(self.retention).unwrap_or(time::Duration::DAY)
    }

    /// Deletes the files of jobs expired by `now`, then marks them purged. Idempotent; a
    /// file already gone is no error. A file that cannot be deleted keeps its row
    /// unpurged (tried again next time) and the pass goes on with the others.
    pub async fn purge(&self, db: &Database, now: OffsetDateTime) -> Result<PurgeReport, DbError> {
        let mut report = PurgeReport::default();
        let expired = {
            let mut conn = db.acquire().await?;
            repo::print_jobs::expired(&mut conn, now, PURGE_BATCH).await?
        };
        for job in expired {
            match self.delete(job.tenant_id, job.id).await {
                Ok(deleted) => report.files += usize::from(deleted),
                Err(e) => {
                    tracing::warn!(job = %job.id, "retention: {e}");
                    continue;
                }
            }
            let mut conn = db.acquire().await?;
            if repo::print_jobs::mark_purged(&mut conn, job.id, now).await? {
                report.jobs += 1;
            }
        }
        Ok(report)
    }
}
