//! `rxpath serve`: the OpenMetrics text over the fixture trees (exact values, the same numbers as
//! the report's golden JSON, escaping, unique series, the socket cap), then the server end to end
//! over loopback (status, content type, 404/405, an idle client, SIGTERM), and as root a live scrape
//! inside a network namespace that must see UDP NoPorts drops rise by exactly what was sent.

mod common;

use common::{Netns, require_root, rxpath_bin};
use rxpath::path::Drop;
use rxpath::render::prometheus::{self, SOCKETS_MAX, Scrape};
use rxpath::source::udp::{Family, UdpSocket};
use rxpath::{Avail, Root, Sample};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ── a small OpenMetrics / Prometheus text checker ──────────────────────────────────────────────

/// One sample line: the metric name, its labels (unescaped) and value.
#[derive(Debug, Clone)]
struct Series {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses exposition text, panicking on anything a Prometheus parser would refuse: bad names,
/// bad escapes, unparsable values, samples outside their family, a family declared twice, a
/// duplicate series, a missing or misplaced `# EOF`.
fn parse(text: &str) -> Vec<Series> {
    let valid_name = |n: &str| {
        let mut c = n.chars();
        c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "OpenMetrics ends with # EOF");
    assert!(text.ends_with("# EOF\n"));
    let mut families = HashSet::new();
    let mut family: Option<(String, String)> = None;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (n, line) in lines[..lines.len() - 1].iter().enumerate() {
        let at = format!("line {}: {line}", n + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut w = rest.splitn(3, ' ');
            let (kind, name, tail) = (w.next().unwrap(), w.next().unwrap_or(""), w.next());
            assert!(valid_name(name), "{at}: bad family name");
            match kind {
                "HELP" => assert!(!tail.unwrap_or("").contains('\n'), "{at}"),
                "TYPE" => {
                    let t = tail.unwrap_or("");
                    assert!(["counter", "gauge", "info"].contains(&t), "{at}: type {t}");
                    assert!(families.insert(name.to_string()), "{at}: family declared twice");
                    family = Some((name.to_string(), t.to_string()));
                }
                _ => panic!("{at}: unknown comment"),
            }
            continue;
        }
        let s = sample(line, &at);
        let (fam, kind) = family.as_ref().unwrap_or_else(|| panic!("{at}: no TYPE before"));
        let want = match kind.as_str() {
            "counter" => format!("{fam}_total"),
            "info" => format!("{fam}_info"),
            _ => fam.clone(),
        };
        assert_eq!(s.name, want, "{at}: sample outside its family");
        assert!(valid_name(&s.name), "{at}");
        for k in s.labels.keys() {
            assert!(valid_name(k) && !k.starts_with("__"), "{at}: label {k}");
        }
        if kind == "counter" {
            assert!(s.value >= 0.0 && s.value.fract() == 0.0, "{at}: counter value");
        }
        assert!(seen.insert(format!("{}{:?}", s.name, s.labels)), "{at}: duplicate series");
        out.push(s);
    }
    out
}

fn sample(line: &str, at: &str) -> Series {
    let (name_labels, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{at}: no value"));
    let value: f64 = value.parse().unwrap_or_else(|_| panic!("{at}: value"));
    let Some((name, rest)) = name_labels.split_once('{') else {
        return Series { name: name_labels.into(), labels: BTreeMap::new(), value };
    };
    let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{at}: unclosed labels"));
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "{at}: label value must be quoted");
        let mut v = String::new();
        loop {
            match chars.next() {
                Some('\\') => match chars.next() {
                    Some('\\') => v.push('\\'),
                    Some('"') => v.push('"'),
                    Some('n') => v.push('\n'),
                    other => panic!("{at}: bad escape {other:?}"),
                },
                Some('"') => break,
                Some('\n') | None => panic!("{at}: unterminated label value"),
                Some(c) => v.push(c),
            }
        }
        assert!(labels.insert(key, v).is_none(), "{at}: label twice");
        match chars.next() {
            Some(',') | None => {}
            other => panic!("{at}: after a label {other:?}"),
        }
    }
    Series { name: name.into(), labels, value }
}

/// The value of the one series of `name` whose labels include `want`.
fn value(all: &[Series], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let hits: Vec<&Series> = all
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| want.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .collect();
    assert!(hits.len() <= 1, "{name} {want:?} matches {} series", hits.len());
    hits.first().map(|s| s.value)
}

// ── encoding over the fixture trees ─────────────────────────────────────────────────────────────

const TREES: [&str; 2] = ["linux-6.18-virtio", "capture-6.18-vm"];

fn tree(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trees").join(name)
}

fn sample_of(name: &str) -> Sample {
    Sample::take(&Root::at(tree(name)))
}

fn encoded(s: Scrape) -> (String, Vec<Series>) {
    let text = prometheus::encode(&Arc::new(s));
    let series = parse(&text);
    (text, series)
}

#[test]
fn exact_values_of_the_capture() {
    let (_, m) = encoded(Scrape::since_boot(sample_of("capture-6.18-vm")));
    // The capture's /proc/net/snmp: `Udp: 39 0 44 90 44 ...` — 44 receive-buffer errors.
    let rcvbuf = [("counter", "Udp.RcvbufErrors"), ("where", ""), ("counted", "true")];
    assert_eq!(value(&m, "rxpath_drops_total", &rcvbuf), Some(44.0));
    assert_eq!(value(&m, "rxpath_stage_dropped_packets_total", &[("stage", "socket")]), Some(44.0));
    assert_eq!(value(&m, "rxpath_stage_entered_packets_total", &[("stage", "nic")]), Some(2734.0));
    assert_eq!(value(&m, "rxpath_stage_entered_packets_total", &[("stage", "socket")]), None);
    assert_eq!(value(&m, "rxpath_softnet_processed_total", &[("cpu", "1")]), Some(2703.0));
    let eth0 = [("interface", "eth0"), ("counter", "rx_packets")];
    assert_eq!(value(&m, "rxpath_netdev_rx_packets_total", &eth0), Some(2518.0));
    assert_eq!(
        value(&m, "rxpath_netdev_rx_bytes_total", &[("interface", "eth0")]),
        Some(39992862.0)
    );
    let q0 = [("interface", "eth0"), ("queue", "0")];
    assert_eq!(value(&m, "rxpath_rx_queue_packets_total", &q0), Some(2518.0));
    assert_eq!(
        value(&m, "rxpath_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        Some(1.0)
    );
    let up = [("source", "/proc/net/softnet_stat")];
    assert_eq!(value(&m, "rxpath_source_available", &up), Some(1.0));
    assert_eq!(value(&m, "rxpath_udp_sockets_dropping", &[]), Some(0.0));
}

/// Every stage and drop counter equals what `rxpath report --root --json` shows (its golden file).
#[test]
fn the_same_numbers_as_the_report() {
    for t in TREES {
        let (_, m) = encoded(Scrape::since_boot(sample_of(t)));
        let golden = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{t}.json")),
        )
        .expect("golden JSON");
        let report: Value = serde_json::from_str(&golden).expect("golden JSON parses");
        let mut drops = 0;
        for s in report["path"]["stages"].as_array().expect("stages") {
            let stage = s["stage"].as_str().unwrap();
            let l = [("stage", stage)];
            let dropped = s["dropped"]["count"].as_f64();
            assert_eq!(value(&m, "rxpath_stage_dropped_packets_total", &l), dropped, "{t} {stage}");
            let entered = s["entered"]["count"].as_f64();
            assert_eq!(value(&m, "rxpath_stage_entered_packets_total", &l), entered, "{t} {stage}");
            for d in s["drops"].as_array().unwrap() {
                let counted = if d["counted"].as_bool().unwrap() { "true" } else { "false" };
                let want = [
                    ("stage", stage),
                    ("counter", d["counter"].as_str().unwrap()),
                    ("where", d["where"].as_str().unwrap_or("")),
                    ("counted", counted),
                ];
                assert_eq!(value(&m, "rxpath_drops_total", &want), d["count"].as_f64(), "{want:?}");
                drops += 1;
            }
        }
        let exported = m.iter().filter(|s| s.name == "rxpath_drops_total").count();
        assert_eq!(exported, drops, "{t}: one series per drop of the report, no more");
        for c in report["cpus"].as_array().unwrap() {
            let cpu = c["cpu"].to_string();
            let got = value(&m, "rxpath_softnet_processed_total", &[("cpu", &cpu)]);
            assert_eq!(got, c["processed"]["count"].as_f64(), "{t} cpu {cpu}");
        }
    }
}

/// A sample with drops in several stages, counted and not, per CPU and per interface.
fn dropping_sample() -> Sample {
    let mut s = sample_of("capture-6.18-vm");
    if let Avail::Value(sn) = &mut s.softnet {
        sn.rows[0].dropped = 7;
        sn.rows[1].dropped = 5;
        sn.rows[1].flow_limit_count = Some(2);
    }
    if let Avail::Value(snmp) = &mut s.snmp {
        let udp = snmp.sections.get_mut("Udp").expect("Udp section");
        udp.insert("NoPorts".into(), 13);
    }
    s
}

#[test]
fn counted_drops_add_up_to_each_stage() {
    let samples = [sample_of(TREES[0]), sample_of(TREES[1]), dropping_sample()];
    for sample in samples {
        let (_, m) = encoded(Scrape::since_boot(sample));
        let mut by_stage: BTreeMap<String, f64> = BTreeMap::new();
        for s in m.iter().filter(|s| s.name == "rxpath_drops_total") {
            if s.labels["counted"] == "true" {
                *by_stage.entry(s.labels["stage"].clone()).or_default() += s.value;
            }
        }
        let stages: Vec<&Series> =
            m.iter().filter(|s| s.name == "rxpath_stage_dropped_packets_total").collect();
        let names: Vec<&str> = stages.iter().map(|s| s.labels["stage"].as_str()).collect();
        let order = ["nic", "irq", "softirq", "backlog", "ip", "netfilter", "transport", "socket"];
        assert_eq!(names, order, "eight stages in path order");
        for s in stages {
            let sum = by_stage.get(&s.labels["stage"]).copied().unwrap_or(0.0);
            assert_eq!(sum, s.value, "stage {}", s.labels["stage"]);
        }
    }
    let (_, m) = encoded(Scrape::since_boot(dropping_sample()));
    assert_eq!(
        value(&m, "rxpath_stage_dropped_packets_total", &[("stage", "backlog")]),
        Some(12.0)
    );
    let flow = [("counter", "softnet.flow_limit_count"), ("where", "cpu1"), ("counted", "false")];
    assert_eq!(value(&m, "rxpath_drops_total", &flow), Some(2.0));
    assert_eq!(value(&m, "rxpath_drops_total", &[("counter", "Udp.NoPorts")]), Some(13.0));
    assert_eq!(value(&m, "rxpath_softnet_dropped_total", &[("cpu", "0")]), Some(7.0));
}

#[test]
fn label_values_are_escaped() {
    let odd = "e\"t\\h\n0";
    let mut s = sample_of("capture-6.18-vm");
    if let Avail::Value(ifs) = &mut s.interfaces {
        ifs.iter_mut().find(|i| i.name == "eth0").expect("eth0").name = odd.into();
    }
    let (text, m) = encoded(Scrape::since_boot(s));
    assert!(text.contains(r#"interface="e\"t\\h\n0""#), "escaped in the text");
    assert_eq!(value(&m, "rxpath_netdev_rx_bytes_total", &[("interface", odd)]), Some(39992862.0));
}

#[test]
fn twin_drops_are_one_series() {
    let mut s = Scrape::since_boot(sample_of("capture-6.18-vm"));
    let twin = Drop {
        counter: "Udp.RcvbufErrors".into(),
        where_: None,
        count: 6,
        per_sec: None,
        share: None,
        counted: true,
        note: None,
    };
    let socket = s.path.stages.last_mut().expect("eight stages");
    socket.drops.push(twin);
    let (_, m) = encoded(s);
    assert_eq!(value(&m, "rxpath_drops_total", &[("counter", "Udp.RcvbufErrors")]), Some(50.0));
}

fn udp_socket(port: u16, drops: u64) -> UdpSocket {
    UdpSocket {
        family: Family::Inet,
        sl: None,
        local_address: "198.18.0.1".parse().unwrap(),
        local_port: port,
        rem_address: "0.0.0.0".parse().unwrap(),
        rem_port: 0,
        st: 7,
        tx_queue: 0,
        rx_queue: 0,
        rcvbuf: None,
        uid: 0,
        inode: 100_000 + u64::from(port),
        ref_count: None,
        pointer: None,
        drops: Some(drops),
    }
}

#[test]
fn sockets_are_capped_to_the_most_drops() {
    let mut s = sample_of("capture-6.18-vm");
    let n = SOCKETS_MAX as u16 + 50;
    let socks = (1..=n).map(|p| udp_socket(p, u64::from(p))).chain([udp_socket(9999, 0)]);
    std::sync::Arc::make_mut(&mut s.udp).udp = Avail::Value(socks.collect());
    let (_, m) = encoded(Scrape::since_boot(s));
    let exported: Vec<&Series> =
        m.iter().filter(|s| s.name == "rxpath_udp_socket_drops_total").collect();
    assert_eq!(exported.len(), SOCKETS_MAX);
    let least = exported.iter().map(|s| s.value).fold(f64::MAX, f64::min);
    assert_eq!(least, f64::from(n) - SOCKETS_MAX as f64 + 1.0, "the ones with the most drops");
    let top = [("local", "198.18.0.1:150"), ("remote", "0.0.0.0:0"), ("inode", "100150")];
    assert_eq!(value(&m, "rxpath_udp_socket_drops_total", &top), Some(150.0));
    assert_eq!(value(&m, "rxpath_udp_sockets_dropping", &[]), Some(f64::from(n)));
}

// ── the server end to end ───────────────────────────────────────────────────────────────────────

/// A running `rxpath serve`, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        Server::start_with(Command::new(rxpath_bin()), args)
    }

    fn start_with(mut cmd: Command, args: &[&str]) -> Server {
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rxpath serve");
        let mut line = String::new();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        err.read_line(&mut line).expect("read stderr");
        let addr = line
            .trim()
            .strip_prefix("rxpath serve: listening on http://")
            .and_then(|r| r.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("first line names the address: {line:?}"))
            .parse()
            .expect("an address");
        child.stderr = Some(err.into_inner());
        Server { child, addr }
    }

    fn stop(mut self, sig: i32) -> (Option<i32>, String) {
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, sig) };
        let status = self.child.wait().expect("wait");
        let mut rest = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut rest).unwrap();
        (status.code(), rest)
    }
}

impl std::ops::Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, headers (lower-case names), body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn request(addr: SocketAddr, method: &str, path: &str) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply { status, headers, body: body.to_string() }
}

#[test]
fn serves_metrics_over_http() {
    let server = Server::start(&[]);
    let r = request(server.addr, "GET", "/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(prometheus::CONTENT_TYPE));
    let m = parse(&r.body);
    assert!(value(&m, "rxpath_stage_dropped_packets_total", &[("stage", "socket")]).is_some());
    let took = value(&m, "rxpath_scrape_duration_seconds", &[]).expect("scrape duration");
    assert!(took > 0.0 && took < 10.0, "{took}");

    let index = request(server.addr, "GET", "/");
    assert_eq!(index.status, 200);
    assert!(index.body.contains("href=\"/metrics\""));
    assert_eq!(request(server.addr, "GET", "/nope").status, 404);
    let post = request(server.addr, "POST", "/metrics");
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    let (code, stderr) = server.stop(libc::SIGTERM);
    assert_eq!(code, Some(0), "SIGTERM is a requested stop: {stderr}");
    assert!(stderr.contains("stopped by signal 15"), "{stderr}");
}

#[test]
fn concurrent_scrapes_all_get_a_full_answer() {
    let server = Server::start(&[]);
    let addr = server.addr;
    let scrapers: Vec<_> =
        (0..8).map(|_| std::thread::spawn(move || request(addr, "GET", "/metrics"))).collect();
    for s in scrapers {
        let r = s.join().expect("scraper");
        assert_eq!(r.status, 200);
        let m = parse(&r.body);
        assert_eq!(m.iter().filter(|s| s.name == "rxpath_stage_dropped_packets_total").count(), 8);
    }
}

#[test]
fn a_capture_is_served_with_its_totals() {
    let dir = tree("capture-6.18-vm");
    let server = Server::start(&["--root", dir.to_str().unwrap()]);
    let m = parse(&request(server.addr, "GET", "/metrics").body);
    assert_eq!(value(&m, "rxpath_stage_dropped_packets_total", &[("stage", "socket")]), Some(44.0));
    let (code, _) = server.stop(libc::SIGINT);
    assert_eq!(code, Some(0), "SIGINT too");
}

#[test]
fn an_idle_client_blocks_nothing_and_is_cut_off() {
    let server = Server::start(&[]);
    let mut idle = TcpStream::connect(server.addr).expect("connect");
    let mut half = TcpStream::connect(server.addr).expect("connect");
    half.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n").unwrap();
    let t = Instant::now();
    let r = request(server.addr, "GET", "/metrics");
    assert_eq!(r.status, 200);
    assert!(t.elapsed() < Duration::from_secs(2), "scrape took {:?}", t.elapsed());
    // The header read timeout (3 s) closes both; the connection deadline (5 s) at the latest.
    for (what, s) in [("idle", &mut idle), ("half a request", &mut half)] {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let after = t.elapsed();
        assert!(after < Duration::from_secs(8), "{what}: closed after {after:?}");
        let text = String::from_utf8_lossy(&buf);
        assert!(!text.contains("rxpath_"), "{what}: no metrics without a full request: {text}");
    }
}

#[test]
fn sigterm_answers_the_request_in_flight_then_stops() {
    let server = Server::start(&[]);
    let mut asking = TcpStream::connect(server.addr).expect("connect");
    asking.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut idle = TcpStream::connect(server.addr).expect("connect");
    // Both connections accepted and the first request half read before the signal.
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(200));
    assert!(TcpStream::connect(server.addr).is_err(), "no new connection once stopping");
    asking.write_all(b"Connection: close\r\n\r\n").unwrap();
    asking.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reply = String::new();
    asking.read_to_string(&mut reply).expect("the answer, then the close");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("rxpath_stage_dropped_packets_total"), "{reply}");
    // The idle keep-alive connection is closed, not waited for.
    idle.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = idle.read_to_end(&mut buf);
    assert!(t.elapsed() < Duration::from_secs(3), "idle closed after {:?}", t.elapsed());
    let (code, stderr) = server.stop(libc::SIGTERM);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn bad_addresses_are_clear_errors() {
    let out = Command::new(rxpath_bin()).args(["serve", "--listen", "nowhere"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("IP:PORT"));

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(rxpath_bin()).args(["serve", "--listen", &addr]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")) && err.contains("--listen"), "{err}");
}

// ── live, as root ───────────────────────────────────────────────────────────────────────────────

/// GET /metrics from inside the namespace (the server listens on the namespace's loopback).
fn noports_in(ns: &Netns, addr: SocketAddr) -> f64 {
    let r = ns.enter(move || {
        let r = request(addr, "GET", "/metrics");
        (r.status, r.body)
    });
    assert_eq!(r.0, 200);
    let m = parse(&r.1);
    let want = [("stage", "transport"), ("counter", "Udp.NoPorts"), ("where", "")];
    value(&m, "rxpath_drops_total", &want).expect("Udp.NoPorts is exported")
}

#[test]
fn live_noports_drops_rise_by_what_was_sent() {
    const T: &str = "live_noports_drops_rise_by_what_was_sent";
    if !require_root(T) {
        return;
    }
    let ns = Netns::new("serve");
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.name, rxpath_bin()]);
    let server = Server::start_with(cmd, &[]);
    let addr = server.addr;
    let before = noports_in(&ns, addr);
    const SENT: u64 = 37;
    ns.enter(|| {
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind sender");
        for _ in 0..SENT {
            // Nothing listens on 5999 in this namespace: each datagram is one Udp.NoPorts.
            tx.send_to(&[1u8; 64], "127.0.0.1:5999").expect("send over lo");
        }
    });
    let after = noports_in(&ns, addr);
    assert_eq!(after - before, SENT as f64, "Udp.NoPorts rose by exactly the datagrams sent");
    let (code, _) = server.stop(libc::SIGTERM);
    assert_eq!(code, Some(0));
}
