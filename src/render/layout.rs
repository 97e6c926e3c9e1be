//! Small text-layout helpers shared by the text renderers: an 80-column budget, packed key/value
//! lines, compact numbers and aligned tables.

/// The width every text view fits: an 80-column terminal.
pub const WIDTH: usize = 80;

/// Exact below ten million (operators compare these with `nstat` and `ethtool -S`), compact above
/// so columns stay narrow on busy hosts.
pub fn count(n: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1_000_000_000_000_000, "P"),
        (1_000_000_000_000, "T"),
        (1_000_000_000, "G"),
        (1_000_000, "M"),
    ];
    if n < 10_000_000 {
        return n.to_string();
    }
    for (div, unit) in UNITS {
        if n >= div {
            let v = n as f64 / div as f64;
            return if v >= 100.0 { format!("{v:.0}{unit}") } else { format!("{v:.1}{unit}") };
        }
    }
    n.to_string()
}

/// Packs `items` into lines of at most `WIDTH` columns, each starting with `indent` spaces, items
/// separated by `sep`. An item longer than a line gets a line of its own.
pub fn pack(indent: usize, items: &[String], sep: &str) -> Vec<String> {
    let pad = " ".repeat(indent);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for item in items {
        if cur.is_empty() {
            cur = format!("{pad}{item}");
        } else if cur.len() + sep.len() + item.len() <= WIDTH {
            cur.push_str(sep);
            cur.push_str(item);
        } else {
            lines.push(std::mem::take(&mut cur));
            cur = format!("{pad}{item}");
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Word-wraps `text` to `WIDTH`, every line starting with `indent` spaces.
pub fn wrap(indent: usize, text: &str) -> Vec<String> {
    let words: Vec<String> = text.split_whitespace().map(String::from).collect();
    pack(indent, &words, " ")
}

/// A table with right-aligned columns after the first; widths fit the content.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table { header: header.iter().map(|s| s.to_string()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self, indent: usize) -> Vec<String> {
        let n = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(String::len).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.len());
            }
        }
        let pad = " ".repeat(indent);
        let fmt_row = |cells: &[String]| {
            let mut line = pad.clone();
            for (i, w) in widths.iter().enumerate() {
                let c = cells.get(i).map(String::as_str).unwrap_or("");
                if i == 0 {
                    line.push_str(&format!("{c:<w$}"));
                } else {
                    line.push_str(&format!("  {c:>w$}"));
                }
            }
            line.trim_end().to_string()
        };
        let mut out = vec![fmt_row(&self.header)];
        out.extend(self.rows.iter().map(|r| fmt_row(r)));
        out
    }
}

/// A section rule: `── 1 NIC and driver ───…` filling the width.
pub fn rule(title: &str) -> String {
    let head = format!("── {title} ");
    let fill = WIDTH.saturating_sub(head.chars().count());
    format!("{head}{}", "─".repeat(fill))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_exact_then_compact() {
        assert_eq!(count(9_999_999), "9999999");
        assert_eq!(count(12_345_678), "12.3M");
        assert_eq!(count(123_456_789_012), "123G");
    }

    #[test]
    fn pack_respects_width() {
        let items: Vec<String> = (0..40).map(|i| format!("key{i} {i}")).collect();
        let lines = pack(2, &items, " · ");
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH));
        assert!(lines.iter().all(|l| l.starts_with("  key")));
    }

    #[test]
    fn wrap_breaks_long_text() {
        let text = "word ".repeat(40);
        let lines = wrap(2, &text);
        assert!(lines.len() >= 3);
        assert!(lines.iter().all(|l| l.len() <= WIDTH && l.starts_with("  word")));
    }

    #[test]
    fn table_aligns() {
        let mut t = Table::new(&["cpu", "processed"]);
        t.row(vec!["0".into(), "12".into()]);
        t.row(vec!["10".into(), "3".into()]);
        assert_eq!(t.render(0), vec!["cpu  processed", "0           12", "10           3"]);
    }
}
