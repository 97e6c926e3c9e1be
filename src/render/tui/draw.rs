//! Painting an `App`: a header line, the drop path with a sparkline per stage, the view tabs, the
//! lower pane (CPUs, queues, sockets or findings) and a key line. The words and numbers are those
//! of the text report (src/render/report.rs).

use super::{App, View};
use crate::path::{Amount, StageId};
use crate::render::layout::count;
use crate::render::report::{amount, change, severity, share};
use crate::report::{CpuRow, QueueRow, Report, SocketRow};
use crate::source::cpus::GroupOf;
use crate::source::cpuset;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline, Table, Tabs, Wrap};
use std::cmp::{Ordering, Reverse};

/// Borders, column header, eight stages and the verdict line.
const PATH_HEIGHT: u16 = 2 + 1 + StageId::ALL.len() as u16 + 1;

pub fn draw(frame: &mut Frame, app: &App) {
    let [head, path, tabs, pane, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(PATH_HEIGHT),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(header(app)), head);
    drop_path(frame, app, path);
    view_tabs(frame, app, tabs);
    match app.view {
        View::Cpus => cpu_pane(frame, app, pane),
        View::Queues => queue_pane(frame, app, pane),
        View::Sockets => socket_pane(frame, app, pane),
        View::Findings => finding_pane(frame, app, pane),
    }
    frame.render_widget(Paragraph::new(key_line(app)), keys);
}

fn header(app: &App) -> Line<'static> {
    let mut spans = vec![Span::styled("rxpath watch", Style::new().add_modifier(Modifier::BOLD))];
    let mut text = String::new();
    match &app.report {
        Some(r) => {
            if let Some(h) = r.sample.host.hostname.value() {
                text.push_str(&format!(" · {h}"));
            }
            if let Some(k) = r.sample.host.kernel.value() {
                text.push_str(&format!(" · {k}"));
            }
            match r.interval.value() {
                Some(i) => text.push_str(&format!(" · rates over {:.2} s", i.secs)),
                None => text.push_str(" · counts (no usable clock: no rates)"),
            }
            text.push_str(&format!(" · refresh {}", app.updates));
        }
        None => text.push_str(&format!(
            " · sampling: the first rates come after one interval ({:.2} s)",
            app.interval.as_secs_f64()
        )),
    }
    spans.push(Span::raw(text));
    if app.frozen {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled("FROZEN", Style::new().add_modifier(Modifier::REVERSED)));
    }
    Line::from(spans)
}

fn drop_path(frame: &mut Frame, app: &App, area: Rect) {
    let block = Block::bordered().title(" Where packets die (per second) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let columns = |row: Rect| {
        Layout::horizontal([
            Constraint::Length(24),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(5),
            Constraint::Fill(1),
        ])
        .spacing(1)
        .areas::<5>(row)
    };
    let line =
        |i: u16| Rect { y: inner.y.saturating_add(i), height: 1, ..inner }.intersection(inner);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let [a, b, c, d, e] = columns(line(0));
    frame.render_widget(Paragraph::new("stage").style(bold), a);
    for (text, rect) in [("entered", b), ("dropped", c), ("share", d)] {
        frame.render_widget(Paragraph::new(text).style(bold).alignment(Alignment::Right), rect);
    }
    frame.render_widget(
        Paragraph::new(format!("dropped/s, last {}", e.width.min(app.history.len() as u16)))
            .style(bold),
        e,
    );
    let report = app.report.as_ref();
    for (n, id) in StageId::ALL.into_iter().enumerate() {
        let row = line(1 + n as u16);
        if row.height == 0 {
            break;
        }
        let [a, b, c, d, e] = columns(row);
        let stage = report.map(|r| r.path.stage(id));
        let dropped = stage.is_some_and(|s| s.dropped.count > 0);
        let style = if report.and_then(|r| r.path.top_stage) == Some(id) {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else if dropped {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new()
        };
        let cell = |s: String| Paragraph::new(s).style(style).alignment(Alignment::Right);
        frame.render_widget(Paragraph::new(format!("{} {}", n + 1, id.title())).style(style), a);
        match (report, stage) {
            (Some(r), Some(s)) => {
                frame.render_widget(cell(amount(r, s.entered)), b);
                frame.render_widget(cell(amount(r, Some(s.dropped))), c);
                frame.render_widget(cell(share(s.share)), d);
            }
            _ => {
                for rect in [b, c] {
                    frame.render_widget(cell("-".into()), rect);
                }
            }
        }
        let data = app.history.stage(id, usize::from(e.width));
        frame.render_widget(Sparkline::default().data(&data).style(style), e);
    }
    let verdict = match report {
        None => String::new(),
        Some(r) => match r.path.top_stage {
            Some(id) => {
                let s = r.path.stage(id);
                let top = s
                    .drops
                    .iter()
                    .filter(|d| d.counted)
                    .max_by_key(|d| d.count)
                    .map(|d| match &d.where_ {
                        Some(w) => format!(": {} {w}", d.counter),
                        None => format!(": {}", d.counter),
                    })
                    .unwrap_or_default();
                format!(
                    "Most packets die at {} ({} of {}){top}",
                    s.title,
                    share(s.share),
                    amount(r, Some(r.path.total_dropped))
                )
            }
            None => "No packet was dropped on the receive path.".into(),
        },
    };
    frame.render_widget(Paragraph::new(verdict), line(1 + StageId::ALL.len() as u16));
}

fn view_tabs(frame: &mut Frame, app: &App, area: Rect) {
    let r = app.report.as_ref();
    let titles = View::ALL.into_iter().enumerate().map(|(n, v)| {
        let extra = match (v, r) {
            (View::Sockets, Some(r)) => format!(" ({})", r.sockets.len()),
            (View::Findings, Some(r)) => format!(" ({})", r.findings.len()),
            _ => String::new(),
        };
        format!("{} {}{extra}", n + 1, v.title())
    });
    let selected = View::ALL.iter().position(|v| *v == app.view);
    let tabs = Tabs::new(titles)
        .select(selected)
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    frame.render_widget(tabs, area);
}

fn key_line(app: &App) -> Line<'static> {
    let dim = Style::new().add_modifier(Modifier::DIM);
    if app.help {
        // Fits 80 columns; Ctrl-C (quit) and ? (hide) are in `watch --help`.
        let sort = match app.sort_key() {
            Some(k) => format!("s sort: {k}"),
            None => "most severe first".into(),
        };
        let freeze = if app.frozen { "f/space resume" } else { "f/space freeze" };
        Line::styled(format!("Tab/1-4 view · {sort} · {freeze} · ↑↓ scroll · q/Esc quit"), dim)
    } else {
        Line::styled("? keys · q quit", dim)
    }
}

/// A pane's frame and the rect left for its table and its one-line note.
fn pane(frame: &mut Frame, app: &App, area: Rect) -> (Rect, Rect) {
    let title = match app.sort_key() {
        Some(k) => format!(" {} · sorted by {k} ", app.view.title()),
        None => format!(" {} ", app.view.title()),
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [body, note] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    (body, note)
}

fn waiting(frame: &mut Frame, area: Rect) {
    frame.render_widget(Paragraph::new("Waiting for the first interval…"), area);
}

/// Rows of a table that fit in `body` below its header.
fn room(body: Rect) -> usize {
    usize::from(body.height.saturating_sub(1))
}

fn right(s: String) -> Cell<'static> {
    Cell::from(Line::from(s).alignment(Alignment::Right))
}

/// A table whose first column (and the last, when `text_last`) is left-aligned text and the
/// rest right-aligned numbers; the sorted column's header is marked.
fn table(
    header: &[&str],
    widths: &[u16],
    sorted: Option<&str>,
    text_last: bool,
    rows: Vec<(Vec<String>, Style)>,
) -> Table<'static> {
    let last = header.len().saturating_sub(1);
    let cell = move |i: usize, s: String| {
        if i == 0 || (text_last && i == last) { Cell::from(s) } else { right(s) }
    };
    let head = Row::new(header.iter().enumerate().map(|(i, h)| {
        cell(i, if Some(*h) == sorted { format!("{h}▼") } else { (*h).to_string() })
    }))
    .style(Style::new().add_modifier(Modifier::BOLD));
    let rows = rows.into_iter().map(move |(cells, style)| {
        Row::new(cells.into_iter().enumerate().map(|(i, c)| cell(i, c))).style(style)
    });
    Table::new(rows, widths.iter().map(|w| Constraint::Length(*w))).header(head)
}

fn n(a: Option<Amount>) -> u64 {
    a.map_or(0, |a| a.count)
}

const CPU_HEADER: [&str; 9] =
    ["cpu", "irq", "NET_RX", "processed", "dropped", "squeezed", "rps", "backlog", "si%"];

/// The per-CPU rows that fit in `room` lines: every CPU when they all fit; else a sum per NUMA
/// node (one for all CPUs when the nodes are unknown) first, then the top CPUs by `sort`.
pub struct CpuLines {
    /// Cells and whether the row is a node sum.
    pub rows: Vec<(Vec<String>, bool)>,
    /// CPUs listed one by one.
    pub shown: usize,
    pub total: usize,
    /// Node sums listed.
    pub nodes: usize,
}

pub fn cpu_lines(r: &Report, sort: &str, room: usize) -> CpuLines {
    let mut cpus: Vec<&CpuRow> = r.cpus.iter().collect();
    let order = cpu_order(sort);
    cpus.sort_by(|a, b| order(a, b));
    let total = cpus.len();
    let mut rows = Vec::new();
    let mut nodes = 0;
    if total > room {
        let groups: Vec<(String, Vec<u32>)> = match r.sample.cpus.nodes.value() {
            Some(ns) if !ns.is_empty() => {
                ns.iter().map(|n| (format!("node{}", n.node), n.cpus.clone())).collect()
            }
            _ => vec![("all".into(), cpus.iter().map(|c| c.cpu).collect())],
        };
        // Each CPU's group found once: a 512-CPU host has 512 rows to place, not 512 per node.
        let group_of = GroupOf::new(groups.iter().map(|(_, members)| members.as_slice()));
        let mut in_group: Vec<Vec<&CpuRow>> = vec![Vec::new(); groups.len()];
        for c in &r.cpus {
            if let Some(g) = group_of.get(c.cpu) {
                in_group[g].push(c);
            }
        }
        for ((name, _), in_node) in groups.iter().zip(in_group) {
            if in_node.is_empty() || rows.len() >= room {
                continue;
            }
            rows.push((
                cpu_cells(r, &node_sum(&format!("{name} ×{}", in_node.len()), &in_node)),
                true,
            ));
            nodes += 1;
        }
    }
    let left = room.saturating_sub(rows.len());
    cpus.truncate(left);
    let shown = cpus.len();
    rows.extend(cpus.into_iter().map(|c| (cpu_cells(r, &CpuCells::of(c)), false)));
    CpuLines { rows, shown, total, nodes }
}

/// What one CPU row (or a node's sum) shows.
struct CpuCells {
    label: String,
    irqs: Option<Amount>,
    net_rx: Option<Amount>,
    processed: Option<Amount>,
    dropped: Option<Amount>,
    time_squeeze: Option<Amount>,
    received_rps: Option<Amount>,
    backlog_len: Option<u64>,
    softirq_share: Option<f64>,
}

impl CpuCells {
    fn of(c: &CpuRow) -> CpuCells {
        CpuCells {
            label: c.cpu.to_string(),
            irqs: c.irqs,
            net_rx: c.net_rx,
            processed: c.processed,
            dropped: c.dropped,
            time_squeeze: c.time_squeeze,
            received_rps: c.received_rps,
            backlog_len: c.backlog_len.map(u64::from),
            softirq_share: c.softirq_share,
        }
    }
}

/// The sum of a node's CPUs; the softirq share is their mean (the node's share of its CPU time).
fn node_sum(label: &str, cpus: &[&CpuRow]) -> CpuCells {
    let sum =
        |f: fn(&CpuRow) -> Option<Amount>| cpus.iter().filter_map(|c| f(c)).reduce(Amount::plus);
    let shares: Vec<f64> = cpus.iter().filter_map(|c| c.softirq_share).collect();
    CpuCells {
        label: label.into(),
        irqs: sum(|c| c.irqs),
        net_rx: sum(|c| c.net_rx),
        processed: sum(|c| c.processed),
        dropped: sum(|c| c.dropped),
        time_squeeze: sum(|c| c.time_squeeze),
        received_rps: sum(|c| c.received_rps),
        backlog_len: cpus
            .iter()
            .filter_map(|c| c.backlog_len)
            .map(u64::from)
            .reduce(u64::saturating_add),
        softirq_share: (!shares.is_empty())
            .then(|| shares.iter().sum::<f64>() / shares.len() as f64),
    }
}

fn cpu_cells(r: &Report, c: &CpuCells) -> Vec<String> {
    vec![
        c.label.clone(),
        amount(r, c.irqs),
        amount(r, c.net_rx),
        amount(r, c.processed),
        amount(r, c.dropped),
        amount(r, c.time_squeeze),
        amount(r, c.received_rps),
        c.backlog_len.map_or("-".into(), |l| l.to_string()),
        c.softirq_share.map_or("-".into(), |s| format!("{:.1}", s * 100.0)),
    ]
}

/// The order of the CPU table by the column `sort`, chosen once: a sort of 512 CPUs compares
/// thousands of pairs.
fn cpu_order(sort: &str) -> fn(&CpuRow, &CpuRow) -> Ordering {
    fn by(f: fn(&CpuRow) -> Option<Amount>, a: &CpuRow, b: &CpuRow) -> Ordering {
        Reverse(n(f(a))).cmp(&Reverse(n(f(b)))).then(a.cpu.cmp(&b.cpu))
    }
    match sort {
        "squeezed" => |a, b| by(|c| c.time_squeeze, a, b),
        "processed" => |a, b| by(|c| c.processed, a, b),
        "NET_RX" => |a, b| by(|c| c.net_rx, a, b),
        "irq" => |a, b| by(|c| c.irqs, a, b),
        "si%" => |a, b| {
            let share = |c: &CpuRow| c.softirq_share.unwrap_or(0.0);
            share(b).total_cmp(&share(a)).then(a.cpu.cmp(&b.cpu))
        },
        "cpu" => |a, b| a.cpu.cmp(&b.cpu),
        _ => |a, b| by(|c| c.dropped, a, b),
    }
}

fn cpu_pane(frame: &mut Frame, app: &App, area: Rect) {
    let (body, note) = pane(frame, app, area);
    let Some(r) = &app.report else { return waiting(frame, body) };
    let sort = app.sort_key().unwrap_or("dropped");
    let lines = cpu_lines(r, sort, room(body));
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let rows = lines
        .rows
        .into_iter()
        .map(|(cells, node)| (cells, if node { bold } else { Style::new() }))
        .collect();
    frame.render_widget(
        table(&CPU_HEADER, &[10, 7, 7, 9, 8, 9, 7, 7, 5], Some(sort), false, rows),
        body,
    );
    let text = if lines.total == 0 {
        "No per-CPU counters (softnet_stat unreadable).".into()
    } else if lines.shown < lines.total {
        format!(
            "{} of {} CPUs: {} node sum{} first, then the top by {sort}.",
            lines.shown,
            lines.total,
            lines.nodes,
            if lines.nodes == 1 { "" } else { "s" }
        )
    } else {
        format!("All {} CPUs.", lines.total)
    };
    frame.render_widget(Paragraph::new(text), note);
}

fn queue_pane(frame: &mut Frame, app: &App, area: Rect) {
    let (body, note) = pane(frame, app, area);
    let Some(r) = &app.report else { return waiting(frame, body) };
    let sort = app.sort_key().unwrap_or("drops");
    // Queues the kernel shows without an IRQ or a packet count say nothing here.
    let mut queues: Vec<&QueueRow> =
        r.queues.iter().filter(|q| q.irq.is_some() || q.packets.is_some()).collect();
    let total = queues.len();
    queues.sort_by(|a, b| {
        let first = match sort {
            "packets" => Reverse(n(a.packets)).cmp(&Reverse(n(b.packets))),
            "queue" => Ordering::Equal,
            _ => Reverse(n(a.drops)).cmp(&Reverse(n(b.drops))),
        };
        first.then(a.interface.cmp(&b.interface)).then(a.queue.cmp(&b.queue))
    });
    queues.truncate(room(body));
    let rows = queues
        .iter()
        .map(|q| {
            let cells = vec![
                format!("{} rx-{}", q.interface, q.queue),
                q.irq.clone().unwrap_or("-".into()),
                if q.cpus.is_empty() { "-".into() } else { cpuset::format_list(&q.cpus) },
                q.numa_node.map_or("-".into(), |n| n.to_string()),
                amount(r, q.packets),
                amount(r, q.drops),
            ];
            (cells, Style::new())
        })
        .collect();
    let header = ["queue", "irq", "cpus", "node", "packets", "drops"];
    frame.render_widget(table(&header, &[20, 8, 12, 5, 10, 9], Some(sort), false, rows), body);
    let text = if total == 0 {
        "No receive queue with an IRQ or packet counts.".into()
    } else if queues.len() < total {
        format!("{} of {total} queues, the top by {sort}.", queues.len())
    } else {
        format!("All {total} queues with an IRQ or packet counts.")
    };
    frame.render_widget(Paragraph::new(text), note);
}

fn socket_pane(frame: &mut Frame, app: &App, area: Rect) {
    let (body, note) = pane(frame, app, area);
    let Some(r) = &app.report else { return waiting(frame, body) };
    let sort = app.sort_key().unwrap_or("drops");
    let mut sockets: Vec<&SocketRow> = r.sockets.iter().collect();
    let total = sockets.len();
    sockets.sort_by(|a, b| {
        let first = match sort {
            "rx_queue" => b.rx_queue.cmp(&a.rx_queue),
            "local" => a.local.cmp(&b.local),
            _ => b.drops.count.cmp(&a.drops.count),
        };
        first.then(a.inode.cmp(&b.inode))
    });
    sockets.truncate(room(body));
    let rows = sockets
        .iter()
        .map(|s| {
            let owner = match s.owners.value().map(Vec::as_slice) {
                Some([o]) => format!("{} {}", o.pid, o.comm),
                Some([o, rest @ ..]) => format!("{} {} +{}", o.pid, o.comm, rest.len()),
                _ => "?".into(),
            };
            let cells = vec![
                s.local.clone(),
                amount(r, Some(s.drops)),
                count(s.rx_queue),
                s.rcvbuf.map_or("-".into(), |b| count(u64::from(b))),
                owner,
            ];
            (cells, Style::new())
        })
        .collect();
    let header = ["local", "drops", "rx_queue", "rcvbuf", "owner"];
    frame.render_widget(table(&header, &[28, 9, 9, 9, 20], Some(sort), true, rows), body);
    let text = if total == 0 {
        "No UDP socket dropped in the last interval.".into()
    } else if sockets.len() < total {
        format!("{} of {total} UDP sockets that dropped, the top by {sort}.", sockets.len())
    } else {
        format!("UDP sockets that dropped: {total}.")
    };
    frame.render_widget(Paragraph::new(text), note);
}

fn finding_pane(frame: &mut Frame, app: &App, area: Rect) {
    let (body, note) = pane(frame, app, area);
    let Some(r) = &app.report else { return waiting(frame, body) };
    if r.findings.is_empty() {
        frame.render_widget(Paragraph::new("Nothing on this host needs a change."), body);
        return;
    }
    let mut lines: Vec<Line> = Vec::new();
    for f in &r.findings {
        let color = match f.severity {
            crate::diagnose::Severity::Critical => Color::Red,
            crate::diagnose::Severity::Warning => Color::Yellow,
            crate::diagnose::Severity::Info => Color::Reset,
        };
        lines.push(Line::from(vec![
            Span::styled(severity(f.severity), Style::new().fg(color).add_modifier(Modifier::BOLD)),
            Span::raw(format!(" [{}] ", f.rule)),
            Span::styled(f.title.clone(), Style::new().add_modifier(Modifier::BOLD)),
        ]));
        for e in &f.evidence {
            lines.push(Line::raw(format!("  · {}: {}", e.what, e.value)));
        }
        for m in &f.remedies {
            lines.push(Line::raw(format!("  → {}", change(m))));
            if let Some(c) = &m.command {
                lines.push(Line::styled(format!("      {c}"), Style::new().fg(Color::Cyan)));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).scroll((app.scroll, 0)),
        body,
    );
    frame.render_widget(
        Paragraph::new(format!(
            "{} finding{}, most severe first (↑/↓ scroll); `rxpath report` explains each.",
            r.findings.len(),
            if r.findings.len() == 1 { "" } else { "s" }
        )),
        note,
    );
}
