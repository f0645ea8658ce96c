//! Name patterns where `*` matches any run of characters and every other character,
//! matched case-sensitively, stands for itself: ECR repository and tag filters, audit
//! user and resource lists, `find --image`. (IAM's patterns, with `?` and their own
//! case rules, are in [`crate::iam_policy`].)

/// Whether `text` matches `pattern`.
pub fn star_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::star_match;

    #[test]
    fn stars_match_any_run_and_the_rest_is_literal() {
        assert!(star_match("*", "team/api") && star_match("*", ""));
        assert!(star_match("team/*", "team/api") && star_match("*api", "team/api"));
        assert!(star_match("t*m/a*i", "team/api") && star_match("a*b*c", "axxbyyc"));
        assert!(!star_match("team/*", "other/api") && !star_match("prod-*", "dev"));
        assert!(star_match("v1", "v1") && !star_match("v1", "v12"));
        assert!(!star_match("a*a", "a") && !star_match("ab*ba", "aba"));
        assert!(!star_match("a*c", "ab") && !star_match("Team/*", "team/api"));
    }
}
