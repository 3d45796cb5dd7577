//! PostScript jobs through a Ghostscript child: `-dSAFER` (no file access beyond its
//! arguments), an address-space limit set by util-linux `prlimit` (so no `pre_exec`), a
//! wall-clock limit after which the child is killed, and its PDF checked like a received
//! one before it replaces `output`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncReadExt;

use super::{RenderError, RenderOptions, RenderSummary, convert};

/// The last part of Ghostscript's complaints kept for the error message.
const STDERR_TAIL: usize = 400;

/// Finds `program` as a path or on PATH.
fn locate(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_owned());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

pub async fn render(
    input: &Path,
    output: &Path,
    options: &RenderOptions,
) -> Result<RenderSummary, RenderError> {
    let Some(gs) = &options.ghostscript else {
        return Err(RenderError::PostscriptUnavailable(
            "no Ghostscript is configured".to_owned(),
        ));
    };
    let Some(program) = locate(&gs.program) else {
        return Err(RenderError::PostscriptUnavailable(format!(
            "{} is not installed",
            gs.program.display()
        )));
    };
    let Some(prlimit) = locate(Path::new("prlimit")) else {
        return Err(RenderError::PostscriptUnavailable(
            "prlimit (util-linux) is not installed, so Ghostscript cannot be limited".to_owned(),
        ));
    };
    let mut scratch = output.as_os_str().to_owned();
    scratch.push(".gs");
    let scratch = PathBuf::from(scratch);
    let result = run(&prlimit, &program, input, &scratch, output, options, gs).await;
    let _ = tokio::fs::remove_file(&scratch).await;
    result
}

async fn run(
    prlimit: &Path,
    program: &Path,
    input: &Path,
    scratch: &Path,
    output: &Path,
    options: &RenderOptions,
    gs: &super::GhostscriptOptions,
) -> Result<RenderSummary, RenderError> {
    // `%` in an output file name is a page-number template to Ghostscript.
    let out_arg = format!(
        "-sOutputFile={}",
        scratch.display().to_string().replace('%', "%%")
    );
    let mut child = tokio::process::Command::new(prlimit)
        .arg(format!("--as={}", gs.memory_limit_bytes))
        .arg("--")
        .arg(program)
        .args(["-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite"])
        .arg(out_arg)
        .arg("-f")
        .arg(input)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            RenderError::PostscriptUnavailable(format!("cannot start Ghostscript: {e}"))
        })?;
    let mut stderr = child.stderr.take();
    let finished = async {
        let mut complaints = Vec::new();
        if let Some(stderr) = stderr.as_mut() {
            // Bounded: a chatty child cannot grow our memory, nor block on a full pipe.
            let _ = (&mut *stderr)
                .take(64 * 1024)
                .read_to_end(&mut complaints)
                .await;
            let _ = tokio::io::copy(stderr, &mut tokio::io::sink()).await;
        }
        let status = child.wait().await;
        (status, complaints)
    };
    let (status, complaints) = match tokio::time::timeout(gs.timeout, finished).await {
        Ok(done) => done,
        Err(_) => {
            let _ = child.start_kill();
            // Reaped, so no zombie is left; SIGKILL cannot be ignored.
            let _ = child.wait().await;
            return Err(RenderError::Timeout(gs.timeout));
        }
    };
    let status = status?;
    if !status.success() {
        let text = String::from_utf8_lossy(&complaints);
        let tail: String = text
            .chars()
            .rev()
            .take(STDERR_TAIL)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(RenderError::PostscriptFailed(format!(
            "Ghostscript exited with {status}: {}",
            tail.trim()
        )));
    }
    let (scratch_owned, output_owned, options) =
        (scratch.to_owned(), output.to_owned(), options.clone());
    tokio::task::spawn_blocking(move || -> Result<RenderSummary, RenderError> {
        let data = std::fs::read(&scratch_owned)?;
        let file = std::fs::File::create(&output_owned)?;
        let summary =
            convert::pass_through(&data, &options, &file).map_err(|error| match error {
                RenderError::MalformedPdf(why) => {
                    RenderError::PostscriptFailed(format!("Ghostscript wrote a broken PDF: {why}"))
                }
                other => other,
            })?;
        file.sync_all()?;
        Ok(summary)
    })
    .await
    .unwrap_or_else(|join| Err(RenderError::Io(std::io::Error::other(join.to_string()))))
}
