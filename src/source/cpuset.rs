//! CPU sets as the kernel prints them: lists (`0-3,8`, used by `online`, `smp_affinity_list`,
//! `local_cpulist`) and hex masks (`00000000,0000000f`, used by `rps_cpus`, `xps_cpus`,
//! `smp_affinity`, `flow_limit_cpu_bitmap`; comma-separated 32-bit groups, most significant first).

use super::ParseError;

/// Parses a CPU list such as `0-3,8,10-11`. An empty string is the empty set.
pub fn parse_list(text: &str) -> Result<Vec<u32>, ParseError> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || ParseError::new(0, format!("bad CPU list element {part:?}"));
        match part.split_once('-') {
            Some((a, b)) => {
                let a: u32 = a.trim().parse().map_err(|_| bad())?;
                let b: u32 = b.trim().parse().map_err(|_| bad())?;
                if b < a || b - a > 1 << 16 {
                    return Err(bad());
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().map_err(|_| bad())?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Parses a hex CPU mask such as `f`, `00000000,0000000f` or `0x3`.
pub fn parse_mask(text: &str) -> Result<Vec<u32>, ParseError> {
    let t = text.trim();
    let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
    let digits: String = t.chars().filter(|c| *c != ',').collect();
    if digits.is_empty() {
        return Ok(Vec::new());
    }
    let mut cpus = Vec::new();
    for (i, c) in digits.chars().rev().enumerate() {
        let nibble = c
            .to_digit(16)
            .ok_or_else(|| ParseError::new(0, format!("bad hex CPU mask {text:?}")))?;
        for bit in 0..4 {
            if nibble & (1 << bit) != 0 {
                cpus.push((i * 4 + bit) as u32);
            }
        }
    }
    cpus.sort_unstable();
    Ok(cpus)
}

/// Formats a CPU set as a compact list (`0-3,8`), the way `smp_affinity_list` prints it.
pub fn format_list(cpus: &[u32]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{end}"));
        }
        i += 1;
    }
    out
}

/// Formats a CPU set as the kernel's hex mask with 32-bit comma groups (`rps_cpus` format).
pub fn format_mask(cpus: &[u32]) -> String {
    let max = cpus.iter().copied().max().unwrap_or(0);
    let groups = (max / 32 + 1) as usize;
    let mut words = vec![0u32; groups];
    for &c in cpus {
        words[(c / 32) as usize] |= 1 << (c % 32);
    }
    let mut parts: Vec<String> = words.iter().rev().map(|w| format!("{w:08x}")).collect();
    // The kernel prints the leading group without zero padding.
    if let Some(first) = parts.first_mut() {
        *first = format!("{:x}", words[groups - 1]);
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lists_and_masks() {
        assert_eq!(parse_list("0-3,8").unwrap(), vec![0, 1, 2, 3, 8]);
        assert_eq!(parse_list("").unwrap(), Vec::<u32>::new());
        assert_eq!(parse_list("0-63,128-191\n").unwrap().len(), 128);
        assert!(parse_list("3-1").is_err());
        assert_eq!(parse_mask("00000000,0000000f").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(parse_mask("2").unwrap(), vec![1]);
        assert_eq!(parse_mask("0").unwrap(), Vec::<u32>::new());
        assert_eq!(parse_mask("1,00000000").unwrap(), vec![32]);
        assert_eq!(format_list(&[0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
        assert_eq!(format_mask(&[1]), "2");
        assert_eq!(format_mask(&[0, 33]), "2,00000001");
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,64}") {
            let _ = parse_list(&s);
            let _ = parse_mask(&s);
        }

        #[test]
        fn list_and_mask_round_trip(mut cpus in proptest::collection::vec(0u32..600, 0..40)) {
            cpus.sort_unstable();
            cpus.dedup();
            prop_assert_eq!(parse_list(&format_list(&cpus)).unwrap(), cpus.clone());
            prop_assert_eq!(parse_mask(&format_mask(&cpus)).unwrap(), cpus);
        }
    }
}
