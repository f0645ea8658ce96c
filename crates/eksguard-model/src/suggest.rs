//! "Did you mean": the known names nearest to a mistyped one.

/// Edit distance (insertions, deletions, substitutions, and swaps of neighbours), ASCII
/// case ignored.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Three rows of the optimal-string-alignment table.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Up to three `candidates` close enough to `word` to be what was meant, nearest first:
/// within a third of the word's length (at least one edit), or extending it.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let word = word.trim();
    if word.is_empty() || word.len() > 256 {
        return Vec::new();
    }
    let limit = (word.chars().count() / 3).max(1);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| !c.eq_ignore_ascii_case(word))
        .filter_map(|c| {
            let d = distance(word, c);
            let prefix = c.len() > word.len()
                && c.get(..word.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(word));
            (d <= limit || (prefix && word.len() >= 2)).then_some((d, c))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// `; did you mean `a` or `b`?`, or nothing when no candidate is near.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let near = nearest(word, candidates);
    match near.as_slice() {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        [rest @ .., last] => format!(
            "; did you mean `{}` or `{last}`?",
            rest.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join("`, `")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("POD001", "pod001"), 0);
        assert_eq!(distance("POD01", "POD001"), 1);
        assert_eq!(distance("PDO001", "POD001"), 1);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn nearest_names_first() {
        let names = ["pods", "podtemplates", "nodes", "secrets"];
        assert_eq!(nearest("pdos", names), ["pods"]);
        assert_eq!(nearest("pod", names)[0], "pods");
        assert!(nearest("zzzzzz", names).is_empty());
        assert_eq!(did_you_mean("secret", names), "; did you mean `secrets`?");
        assert_eq!(did_you_mean("xyzzy", names), "");
    }
}
