//! Things on the host, outside the network stack proper, that change the receive-path picture:
//! irqbalance (it rewrites IRQ affinities that a tuning would set), connection tracking (a full
//! conntrack table drops packets in netfilter), and DMA engine channels (offloaded copies).

use super::{ParseError, cpuset, parse_num, read_attr};
use crate::avail::{Avail, Unavailable};
use crate::root::Root;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub irqbalance: Avail<Irqbalance>,
    pub conntrack: Avail<Conntrack>,
    pub dma: Avail<Vec<DmaChannel>>,
}

/// The irqbalance daemon as it runs now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Irqbalance {
    pub running: bool,
    pub pid: Option<u32>,
    /// CPUs irqbalance keeps IRQs away from. `None` when unknown (not running, or neither its
    /// environment nor a config file could tell); `Some(vec![])` when it bans none.
    pub banned_cpus: Option<Vec<u32>>,
    /// Where `banned_cpus` came from (file and variable), or why it could not be parsed.
    pub banned_from: Option<String>,
    /// Its command line after the program name (`IRQBALANCE_ARGS` from the config lands here).
    pub args: Vec<String>,
    /// The `IRQBALANCE_*` variables of its environment, by name. Only those: the rest of a process's
    /// environment is none of rxpath's business and may hold secrets. Reading another user's
    /// environment needs root.
    pub environ: Avail<IndexMap<String, String>>,
}

/// The connection tracking table: a full table drops new flows (`nf_conntrack: table full`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conntrack {
    pub count: u64,
    pub max: u64,
}

/// One DMA engine channel from /sys/class/dma (`dma0chan0`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DmaChannel {
    pub name: String,
    pub memcpy_count: Avail<u64>,
    pub bytes_transferred: Avail<u64>,
    pub in_use: Avail<u8>,
}

/// irqbalance's variables, in the order it consults them (cputree.c `setup_banned_cpus`): a
/// non-empty hex mask wins (deprecated but still honoured), then a non-empty list; with neither it
/// bans the kernel's isolated and nohz_full CPUs. It has no command-line option for banned CPUs.
pub const BANNED_CPUS_VAR: &str = "IRQBALANCE_BANNED_CPUS";
pub const BANNED_CPULIST_VAR: &str = "IRQBALANCE_BANNED_CPULIST";

/// Debian's and Red Hat's config files (the systemd unit's EnvironmentFile).
pub const IRQBALANCE_CONFIGS: &[&str] = &["/etc/default/irqbalance", "/etc/sysconfig/irqbalance"];

pub const CONNTRACK_COUNT: &str = "/proc/sys/net/netfilter/nf_conntrack_count";
pub const CONNTRACK_MAX: &str = "/proc/sys/net/netfilter/nf_conntrack_max";
pub const CONNTRACK_ABSENT: &str =
    "nf_conntrack is not loaded (no connection tracking, so no table to fill)";

const DMA_DIR: &str = "/sys/class/dma";
const ISOLATED: &str = "/sys/devices/system/cpu/isolated";
const NOHZ_FULL: &str = "/sys/devices/system/cpu/nohz_full";

pub fn read(root: &Root) -> Environment {
    Environment {
        irqbalance: read_irqbalance(root),
        conntrack: read_conntrack(root),
        dma: read_dma(root),
    }
}

// ---- irqbalance ----

pub fn read_irqbalance(root: &Root) -> Avail<Irqbalance> {
    let pid = match find_process(root, "irqbalance") {
        Ok(pid) => pid,
        Err(u) => return Avail::Unavailable(u),
    };
    let Some(pid) = pid else {
        return Avail::Value(Irqbalance {
            running: false,
            pid: None,
            banned_cpus: None,
            banned_from: None,
            args: Vec::new(),
            // Not running is a fact, not a gap: no environment to read.
            environ: Avail::Value(IndexMap::new()),
        });
    };

    // cmdline is world-readable; failing here means the process just exited.
    let args = root
        .read(&format!("/proc/{pid}/cmdline"))
        .map(|t| parse_nul_separated(&t).into_iter().skip(1).collect())
        .unwrap_or_default();

    let environ_path = format!("/proc/{pid}/environ");
    // A capture keeps only irqbalance's own variables, never the rest of its environment.
    let keep_irqbalance_vars = |t: &str| {
        let kept: Vec<&str> = t.split('\0').filter(|kv| kv.starts_with("IRQBALANCE_")).collect();
        Some(kept.iter().map(|kv| format!("{kv}\0")).collect::<String>())
    };
    let environ: Avail<IndexMap<String, String>> =
        match root.read_redacted(&environ_path, keep_irqbalance_vars) {
            Ok(text) => Avail::Value(
                parse_environ(&text)
                    .into_iter()
                    .filter(|(k, _)| k.starts_with("IRQBALANCE_"))
                    .collect(),
            ),
            Err(e) => Avail::Unavailable(Unavailable::from_io(&environ_path, &e)),
        };

    let (banned_cpus, banned_from) = match environ.value() {
        Some(vars) => match banned_from_vars(vars) {
            Some((var, parsed)) => resolve(format!("{environ_path} {var}"), parsed),
            None => match default_banned(root) {
                Ok(cpus) => (
                    Some(cpus),
                    Some(format!(
                        "irqbalance's default, {ISOLATED} + {NOHZ_FULL} (its environment sets \
                         neither {BANNED_CPUS_VAR} nor {BANNED_CPULIST_VAR})"
                    )),
                ),
                Err(why) => (None, Some(why)),
            },
        },
        None => banned_from_config(root),
    };

    Avail::Value(Irqbalance {
        running: true,
        pid: Some(pid),
        banned_cpus,
        banned_from,
        args,
        environ,
    })
}

fn resolve(
    source: String,
    parsed: Result<Vec<u32>, ParseError>,
) -> (Option<Vec<u32>>, Option<String>) {
    match parsed {
        Ok(cpus) => (Some(cpus), Some(source)),
        Err(e) => (None, Some(format!("{source}: cannot parse ({e})"))),
    }
}

/// When the daemon's environment cannot be read (not root), the config file is the next best
/// witness; `banned_from` says it is the configured value, not necessarily the running one.
fn banned_from_config(root: &Root) -> (Option<Vec<u32>>, Option<String>) {
    for path in IRQBALANCE_CONFIGS {
        let Ok(text) = root.read(path) else { continue };
        let vars = parse_shell_assignments(&text);
        if let Some((var, parsed)) = banned_from_vars(&vars) {
            return resolve(
                format!(
                    "{path} {var} (configured value: the running daemon's environment could not be read)"
                ),
                parsed,
            );
        }
    }
    (None, None)
}

/// irqbalance's own fallback: isolated ∪ nohz_full. A missing file is an empty set (kernels without
/// NO_HZ_FULL have no nohz_full file).
fn default_banned(root: &Root) -> Result<Vec<u32>, String> {
    let mut cpus = Vec::new();
    for path in [ISOLATED, NOHZ_FULL] {
        match root.read(path) {
            Ok(text) => match cpuset::parse_list(&text) {
                Ok(c) => cpus.extend(c),
                Err(e) => return Err(format!("{path}: cannot parse ({e})")),
            },
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(format!("{path}: {}", crate::avail::io_reason(&e))),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// The lowest pid whose `comm` is exactly `name`. Processes vanish while /proc is scanned; their
/// read errors are skipped.
fn find_process(root: &Root, name: &str) -> Result<Option<u32>, Unavailable> {
    let names = root.read_dir("/proc").map_err(|e| Unavailable::from_io("/proc", &e))?;
    let mut pids: Vec<u32> = names
        .iter()
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|n| n.parse().ok())
        .collect();
    pids.sort_unstable();
    Ok(pids.into_iter().find(|pid| {
        let is_it = |comm: &str| comm.strip_suffix('\n').unwrap_or(comm) == name;
        // A capture keeps the comm of the process looked for, not the name of every process.
        root.read_redacted(&format!("/proc/{pid}/comm"), |c| is_it(c).then(|| c.to_string()))
            .is_ok_and(|comm| is_it(&comm))
    }))
}

/// Splits /proc/<pid>/cmdline or environ: NUL-terminated strings. Empty strings inside are kept
/// (an empty argument is an argument); only the terminator's empty tail is dropped.
pub fn parse_nul_separated(text: &str) -> Vec<String> {
    let mut parts: Vec<String> = text.split('\0').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

/// /proc/<pid>/environ as `NAME=value` pairs. Like getenv, the first of duplicate names wins;
/// entries without `=` are skipped.
pub fn parse_environ(text: &str) -> IndexMap<String, String> {
    let mut vars = IndexMap::new();
    for entry in parse_nul_separated(text) {
        if let Some((k, v)) = entry.split_once('=')
            && !k.is_empty()
            && !vars.contains_key(k)
        {
            vars.insert(k.to_string(), v.to_string());
        }
    }
    vars
}

/// A shell-style environment file (`NAME=value`, `NAME="value"`, `NAME='value'`, optional
/// `export `, `#` comments). The last assignment of a name wins, as in a shell.
pub fn parse_shell_assignments(text: &str) -> IndexMap<String, String> {
    let mut vars = IndexMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let Some((key, rest)) = line.split_once('=') else { continue };
        let valid_name = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_name {
            continue;
        }
        vars.insert(key.to_string(), shell_value(rest));
    }
    vars
}

/// The value of an assignment's right-hand side: quotes removed, an unquoted value ends at the
/// first blank (what follows is a comment or another word).
fn shell_value(rest: &str) -> String {
    let mut out = String::new();
    let mut chars = rest.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => break,
            (None, '\\') | (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            (_, c) => out.push(c),
        }
    }
    out
}

/// The banned CPUs irqbalance would take from these variables, with the variable used; `None` when
/// neither is set to something non-empty.
pub fn banned_from_vars(
    vars: &IndexMap<String, String>,
) -> Option<(&'static str, Result<Vec<u32>, ParseError>)> {
    let set = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(mask) = set(BANNED_CPUS_VAR) {
        return Some((BANNED_CPUS_VAR, cpuset::parse_mask(mask)));
    }
    set(BANNED_CPULIST_VAR).map(|list| (BANNED_CPULIST_VAR, cpuset::parse_list(list)))
}

// ---- conntrack ----

pub fn read_conntrack(root: &Root) -> Avail<Conntrack> {
    // Absent means the module is not loaded: say that, not just "not present".
    if !root.exists(CONNTRACK_COUNT) {
        return Avail::missing(CONNTRACK_COUNT, CONNTRACK_ABSENT);
    }
    read_attr(root, CONNTRACK_COUNT, parse_num::<u64>).and_then(|count| {
        read_attr(root, CONNTRACK_MAX, parse_num::<u64>).map(|max| Conntrack { count, max })
    })
}

// ---- DMA engines ----

/// DMA engine channels. No /sys/class/dma means no DMA engine driver: an empty list, not a gap.
pub fn read_dma(root: &Root) -> Avail<Vec<DmaChannel>> {
    let names = match root.read_dir(DMA_DIR) {
        Ok(names) => names,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Avail::Value(Vec::new()),
        Err(e) => return Avail::Unavailable(Unavailable::from_io(DMA_DIR, &e)),
    };
    Avail::Value(
        names
            .into_iter()
            .map(|name| {
                let attr = |a: &str| format!("{DMA_DIR}/{name}/{a}");
                DmaChannel {
                    memcpy_count: read_attr(root, &attr("memcpy_count"), parse_num::<u64>),
                    bytes_transferred: read_attr(
                        root,
                        &attr("bytes_transferred"),
                        parse_num::<u64>,
                    ),
                    in_use: read_attr(root, &attr("in_use"), parse_num::<u8>),
                    name,
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nul_separated() {
        assert_eq!(parse_nul_separated("a\0b\0"), vec!["a", "b"]);
        assert_eq!(parse_nul_separated("a\0\0b\0"), vec!["a", "", "b"]);
        assert_eq!(parse_nul_separated(""), Vec::<String>::new());
        assert_eq!(parse_nul_separated("no-terminator"), vec!["no-terminator"]);
    }

    #[test]
    fn environ_first_duplicate_wins() {
        let v = parse_environ("A=1\0B=x=y\0A=2\0junk\0=nokey\0");
        assert_eq!(v.get("A").map(String::as_str), Some("1"));
        assert_eq!(v.get("B").map(String::as_str), Some("x=y"));
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn shell_assignments() {
        let text = "# comment\n\
                    #IRQBALANCE_BANNED_CPUS=ff\n\
                    IRQBALANCE_BANNED_CPUS=\"0000000f\"\n\
                    export IRQBALANCE_ARGS='--policyscript=/x -j'\n\
                    IRQBALANCE_BANNED_CPULIST=2-3 # isolated\n\
                    IRQBALANCE_ONESHOT=\n\
                    9BAD=1\n\
                    A=1\nA=2\n\
                    ESC=\"a\\\"b\"\n";
        let v = parse_shell_assignments(text);
        assert_eq!(v["IRQBALANCE_BANNED_CPUS"], "0000000f");
        assert_eq!(v["IRQBALANCE_ARGS"], "--policyscript=/x -j");
        assert_eq!(v["IRQBALANCE_BANNED_CPULIST"], "2-3");
        assert_eq!(v["IRQBALANCE_ONESHOT"], "");
        assert_eq!(v["A"], "2");
        assert_eq!(v["ESC"], "a\"b");
        assert!(!v.contains_key("9BAD"));
    }

    #[test]
    fn banned_follows_irqbalance_precedence() {
        let vars = |pairs: &[(&str, &str)]| -> IndexMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let (var, cpus) =
            banned_from_vars(&vars(&[(BANNED_CPULIST_VAR, "4-5"), (BANNED_CPUS_VAR, "3")]))
                .unwrap();
        assert_eq!((var, cpus.unwrap()), (BANNED_CPUS_VAR, vec![0, 1]));
        // An empty mask does not count: irqbalance tests strlen(env).
        let (var, cpus) =
            banned_from_vars(&vars(&[(BANNED_CPUS_VAR, ""), (BANNED_CPULIST_VAR, "4-5")])).unwrap();
        assert_eq!((var, cpus.unwrap()), (BANNED_CPULIST_VAR, vec![4, 5]));
        assert!(banned_from_vars(&vars(&[("PATH", "/bin")])).is_none());
        let (_, bad) = banned_from_vars(&vars(&[(BANNED_CPUS_VAR, "zz")])).unwrap();
        assert!(bad.is_err());
    }

    #[test]
    fn unsigned_values() {
        assert_eq!(parse_num::<u64>("262144\n").unwrap(), 262144);
        assert!(parse_num::<u64>("-1").is_err());
        assert_eq!(parse_num::<u8>("1\n").unwrap(), 1);
        assert!(parse_num::<u8>("256").is_err());
    }

    proptest! {
        #[test]
        fn environ_and_cmdline_parsing_never_panic(s in "(\\PC|\\x00)*") {
            let _ = parse_nul_separated(&s);
            let vars = parse_environ(&s);
            let _ = banned_from_vars(&vars);
        }

        #[test]
        fn config_parsing_never_panics(s in "(\\PC|\\n|\\\\|\"|')*") {
            let vars = parse_shell_assignments(&s);
            let _ = banned_from_vars(&vars);
        }

        #[test]
        fn mutated_real_environ_never_panics(
            cut in 0usize..64, pos in 0usize..64, byte in any::<u8>(),
        ) {
            let mut b = b"IRQBALANCE_BANNED_CPUS=0000000f\0IRQBALANCE_BANNED_CPULIST=0-3\0PATH=/bin\0"
                .to_vec();
            b.truncate(cut.min(b.len()));
            b.insert(pos.min(b.len()), byte);
            let text = String::from_utf8_lossy(&b);
            let _ = banned_from_vars(&parse_environ(&text));
            let _ = banned_from_vars(&parse_shell_assignments(&text.replace('\0', "\n")));
        }

        #[test]
        fn parse_u64_never_panics(s in "\\PC*") {
            let _ = parse_num::<u64>(&s);
            let _ = parse_num::<u8>(&s);
        }
    }
}
