//! Scraping a process's `/metrics` listener and reading the Prometheus text format, for
//! the tests that check what the metrics counted (scale_out's launches).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// One series' value at the scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape: the samples and each family's declared type.
#[derive(Debug, Default)]
pub struct Scrape {
    pub samples: Vec<Sample>,
    pub types: BTreeMap<String, String>,
}

impl Scrape {
    /// Sum of `name`'s series whose labels include all of `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// Whether any series of `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.name == name)
    }
}

/// GETs `https://127.0.0.1:{port}/metrics` with curl, trusting `ca`, and parses it; panics
/// with the body when it is not the text format. Plain HTTP to the same port is refused
/// (no listener of Hamn but the redirect speaks plaintext).
pub fn scrape(ca: &Path, port: u16) -> Scrape {
    let plain = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(format!("http://127.0.0.1:{port}/metrics"))
        .output()
        .expect("run curl");
    assert_ne!(
        String::from_utf8_lossy(&plain.stdout),
        "200",
        "/metrics answered plain HTTP"
    );
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-D", "/dev/stderr", "--cacert"])
        .arg(ca)
        .arg(format!("https://127.0.0.1:{port}/metrics"))
        .output()
        .expect("run curl");
    let headers = String::from_utf8_lossy(&output.stderr).to_ascii_lowercase();
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    let body = String::from_utf8_lossy(&output.stdout);
    parse(&body).unwrap_or_else(|e| panic!("{e}\n{body}"))
}

/// Parses the text exposition format: `# TYPE` lines, other comments, and samples
/// `name{label="value",…} value`.
pub fn parse(text: &str) -> Result<Scrape, String> {
    let mut scrape = Scrape::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| format!("line {}: bad TYPE", n + 1))?;
            scrape.types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("line {}: no value", n + 1))?;
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse::<f64>()
                .map_err(|e| format!("line {}: value {v:?}: {e}", n + 1))?,
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .ok_or_else(|| format!("line {}: unclosed labels", n + 1))?;
                (
                    name,
                    parse_labels(inner).map_err(|e| format!("line {}: {e}", n + 1))?,
                )
            }
        };
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        if !valid_name {
            return Err(format!("line {}: bad metric name {name:?}", n + 1));
        }
        scrape.samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Ok(scrape)
}

/// `a="x",b="y"` with `\"`, `\\` and `\n` escapes in values.
fn parse_labels(mut text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    while !text.is_empty() {
        let (key, rest) = text
            .split_once("=\"")
            .ok_or_else(|| format!("label without value in {text:?}"))?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("dangling escape".into()),
                },
                Some((_, c)) => value.push(c),
                None => return Err(format!("unterminated value of {key}")),
            }
        };
        labels.insert(key.to_owned(), value);
        text = rest[end + 1..].trim_start_matches(',');
    }
    Ok(labels)
}

#[test]
fn the_parser_reads_labels_values_and_types_and_refuses_garbage() {
    let text = "# HELP a_total help\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"z\"} 3\n\
                b 2.5\nc_bucket{le=\"+Inf\"} 4\n";
    let Ok(scrape) = parse(text) else {
        panic!("should parse")
    };
    assert_eq!(
        scrape.types.get("a_total").map(String::as_str),
        Some("counter")
    );
    assert_eq!(scrape.sum("a_total", &[("y", "q\"z")]), 3.0);
    assert_eq!(scrape.sum("b", &[]), 2.5);
    assert_eq!(scrape.sum("c_bucket", &[("le", "+Inf")]), 4.0);
    assert!(parse("a{x=\"1\" 3").is_err());
    assert!(parse("a b c").is_err());
    assert!(parse("a-b 1").is_err());
}
