//! One pass over HCL text before the parser sees it, aware of strings, templates,
//! heredocs and comments:
//!
//! * the nesting of brackets and interpolations, which the parser follows by recursion
//!   (comments and string contents do not nest);
//! * object literals of many items. The parser checks each new key against every key
//!   before it, so an object of `n` keys costs `n²`; an object of more than [`CHUNK`]
//!   items is handed to it as a tuple of objects of at most [`CHUNK`] items each (text
//!   inserted at item boundaries, offsets mapped back), which the evaluator reads as the
//!   one object it is. Keys given twice are found here, as the parser would find them.

use std::collections::HashSet;

/// Items of one object literal the parser is given at once.
pub const CHUNK: usize = 256;

/// What the pass finds.
#[derive(Debug, Default)]
pub struct Scan {
    /// The line of the first bracket or interpolation nested deeper than the limit.
    pub too_deep: Option<u32>,
    /// A key given twice in one split object: its line and text.
    pub duplicate: Option<(u32, String)>,
    /// The text given to the parser (the original when nothing is split).
    pub text: Option<String>,
    /// Where text was inserted: (offset in the parser's text, length, bytes inserted up to
    /// and including this insertion), in order.
    pub shifts: Vec<(usize, usize, usize)>,
    /// Offsets (in the original text) of the `{` of each split object.
    pub split: HashSet<usize>,
}

impl Scan {
    /// The original offset of an offset of the parser's text (inserted text maps to where
    /// it was inserted).
    pub fn original(&self, at: usize) -> usize {
        let i = self.shifts.partition_point(|&(start, _, _)| start <= at);
        if i == 0 {
            return at;
        }
        let (start, len, total) = self.shifts[i - 1];
        if at < start + len {
            start - (total - len)
        } else {
            at - total
        }
    }
}

struct Item {
    end: usize,
    key: String,
    line: u32,
    /// The comma after the item, if that is its separator.
    comma: Option<usize>,
}

#[derive(Default)]
struct Object {
    open: usize,
    items: Vec<Item>,
    start: Option<usize>,
    end: usize,
    key_end: Option<usize>,
    line: u32,
    /// A `for` expression in braces, which has no items.
    is_for: bool,
}

enum Frame {
    /// The file or a block's body; `expr` after the `=` of an attribute on this line.
    Body {
        expr: bool,
    },
    Object(Object),
    /// `[` or `(`.
    Group,
    /// `${` or `%{` inside a string or heredoc.
    Interp,
    Str,
    Heredoc {
        marker: String,
    },
}

impl Frame {
    /// Frames the parser recurses into.
    fn nests(&self) -> bool {
        !matches!(self, Frame::Str | Frame::Heredoc { .. })
    }
}

/// Scans `text`; nesting past `max_depth` stops the scan.
pub fn scan(text: &str, max_depth: usize) -> Scan {
    let b = text.as_bytes();
    let mut out = Scan::default();
    let mut stack = vec![Frame::Body { expr: false }];
    let mut line = 1u32;
    // (offset, order at one offset, text): closing `]` first, then `},{`, then `[`.
    let mut inserts: Vec<(usize, u8, &'static str)> = Vec::new();
    let mut commas: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let at = |s: &str| b[i..].starts_with(s.as_bytes());
        let in_code = matches!(
            stack.last(),
            Some(Frame::Body { .. } | Frame::Object(_) | Frame::Group | Frame::Interp)
        );
        if in_code && (c == b'#' || at("//")) {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if in_code && at("/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                line += u32::from(b[i] == b'\n');
                i += 1;
            }
            i = (i + 2).min(b.len());
            continue;
        }
        let frames = stack.len();
        let significant = !matches!(c, b' ' | b'\t' | b'\r' | b'\n');
        let in_object = matches!(stack.last(), Some(Frame::Object(_)));
        if let Some(Frame::Object(o)) = stack.last_mut() {
            if significant && c != b',' && c != b'}' && o.start.is_none() {
                o.start = Some(i);
                o.line = line;
                let word_ends = b.get(i + 3).is_some_and(u8::is_ascii_whitespace);
                if o.items.is_empty() && at("for") && word_ends {
                    o.is_for = true;
                }
            }
            if matches!(c, b'=' | b':') && o.key_end.is_none() && o.start.is_some() {
                o.key_end = Some(i);
            }
            if c == b',' || c == b'\n' {
                finish(o, text, (c == b',').then_some(i));
            }
        }
        let mut step = 1;
        let mut push = None;
        let mut pop = false;
        match stack.last_mut() {
            Some(Frame::Str) => match c {
                b'\\' => step = 2,
                b'"' => pop = true,
                _ if at("$${") || at("%%{") => step = 3,
                _ if at("${") || at("%{") => {
                    push = Some(Frame::Interp);
                    step = 2;
                }
                _ => {}
            },
            Some(Frame::Heredoc { marker }) => {
                let line_start = i == 0 || b[i - 1] == b'\n';
                let end = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |n| i + n);
                if line_start && text[i..end].trim() == marker.as_str() {
                    stack.pop();
                    if let Some(Frame::Object(o)) = stack.last_mut() {
                        o.end = end;
                    }
                    i = end;
                    continue;
                }
                if at("$${") || at("%%{") {
                    step = 3;
                } else if at("${") || at("%{") {
                    push = Some(Frame::Interp);
                    step = 2;
                }
            }
            Some(frame) => match c {
                b'"' => push = Some(Frame::Str),
                b'<' if at("<<") => {
                    if let Some((marker, next)) = heredoc(text, i) {
                        line += 1;
                        stack.push(Frame::Heredoc { marker });
                        i = next;
                        continue;
                    }
                    step = 2;
                }
                b'=' => {
                    if let Frame::Body { expr } = frame {
                        *expr = true;
                    }
                }
                b'\n' => {
                    if let Frame::Body { expr } = frame {
                        *expr = false;
                    }
                }
                b'{' => {
                    let object = match frame {
                        Frame::Body { expr } => *expr,
                        _ => true,
                    };
                    push = Some(if object {
                        Frame::Object(Object {
                            open: i,
                            ..Object::default()
                        })
                    } else {
                        Frame::Body { expr: false }
                    });
                }
                b'[' | b'(' => push = Some(Frame::Group),
                b'}' | b']' | b')' => pop = frames > 1,
                _ => {}
            },
            None => {}
        }
        if pop {
            if let Some(Frame::Object(mut o)) = stack.pop() {
                finish(&mut o, text, None);
                if c == b'}' && o.items.len() > CHUNK && !o.is_for {
                    split(&o, i, &mut inserts, &mut commas, &mut out.duplicate);
                    out.split.insert(o.open);
                }
            }
        }
        if let Some(f) = push {
            let nests = f.nests();
            stack.push(f);
            if nests && stack.iter().filter(|f| f.nests()).count() > max_depth + 1 {
                out.too_deep = Some(line);
                return out;
            }
        }
        if c == b'\n' {
            line += 1;
        }
        // An item of an object ends with the last thing written at the object's level.
        if significant && c != b',' && stack.len() <= frames && (in_object || stack.len() < frames)
        {
            if let Some(Frame::Object(o)) = stack.last_mut() {
                if o.start.is_some() {
                    o.end = i + step;
                }
            }
        }
        i += step;
    }
    if !inserts.is_empty() {
        inserts.sort_by_key(|&(at, order, _)| (at, order));
        let mut t = String::with_capacity(text.len() + inserts.len() * 3);
        let mut from = 0;
        let mut total = 0;
        // (original offset, bytes inserted at or before it)
        let mut before: Vec<(usize, usize)> = Vec::new();
        for (at, _, s) in inserts {
            t.push_str(&text[from..at]);
            out.shifts.push((at + total, s.len(), total + s.len()));
            total += s.len();
            before.push((at, total));
            t.push_str(s);
            from = at;
        }
        t.push_str(&text[from..]);
        // A comma that ended a chunk is left where the chunk's `},{` now stands: a blank.
        let mut bytes = t.into_bytes();
        for c in commas {
            let n = before.partition_point(|&(at, _)| at <= c);
            let moved = if n == 0 { 0 } else { before[n - 1].1 };
            bytes[c + moved] = b' ';
        }
        out.text = String::from_utf8(bytes).ok();
    }
    out
}

/// A heredoc's opening `<<EOF` or `<<-EOF` at `i`: its marker and where its text starts.
fn heredoc(text: &str, i: usize) -> Option<(String, usize)> {
    let rest = text.get(i + 2..)?;
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    if len == 0 {
        return None;
    }
    let after = &rest[len..];
    let blank = after.len() - after.trim_start_matches([' ', '\t', '\r']).len();
    if !after[blank..].starts_with('\n') {
        return None;
    }
    let next = text.len() - after.len() + blank + 1;
    Some((rest[..len].to_string(), next))
}

fn finish(o: &mut Object, text: &str, comma: Option<usize>) {
    let Some(start) = o.start.take() else { return };
    let key_end = o.key_end.take().unwrap_or(o.end).clamp(start, text.len());
    o.items.push(Item {
        end: o.end.max(start + 1),
        key: text.get(start..key_end).unwrap_or("").trim().to_string(),
        line: o.line,
        comma,
    });
}

fn split(
    o: &Object,
    close: usize,
    inserts: &mut Vec<(usize, u8, &'static str)>,
    commas: &mut Vec<usize>,
    duplicate: &mut Option<(u32, String)>,
) {
    inserts.push((o.open, 2, "["));
    inserts.push((close + 1, 0, "]"));
    let mut seen = HashSet::new();
    for (n, item) in o.items.iter().enumerate() {
        if !seen.insert(item.key.as_str()) && duplicate.is_none() {
            *duplicate = Some((item.line, item.key.clone()));
        }
        if (n + 1) % CHUNK == 0 && n + 1 < o.items.len() {
            inserts.push((item.end, 1, "},{"));
            if let Some(c) = item.comma {
                commas.push(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iac::hcl::{evaluate, TfFile};
    use crate::iac::Val;

    #[test]
    fn comments_and_strings_do_not_nest() {
        let parens = "(".repeat(70);
        for text in [
            format!("# {parens}\nlocals {{ a = 1 }}\n"),
            format!("// {parens}\n/* {parens}\n{parens} */\nlocals {{ a = 1 }}\n"),
            format!("locals {{\n  a = \"{parens}\"\n  b = <<EOF\n{parens}\nEOF\n}}\n"),
            format!("locals {{ a = \"$${{{parens}\" }}\n"),
        ] {
            assert_eq!(scan(&text, 64).too_deep, None, "{text}");
            assert!(TfFile::parse("t.tf", text.clone()).is_ok(), "{text}");
        }
        // Real nesting still counts, through interpolations too.
        let deep = format!("locals {{\n  a = {parens}1{}\n}}\n", ")".repeat(70));
        assert_eq!(scan(&deep, 64).too_deep, Some(2));
        let interp = format!(
            "locals {{ a = {}x{} }}",
            "\"${".repeat(70),
            "}\"".repeat(70)
        );
        assert_eq!(scan(&interp, 64).too_deep, Some(1));
    }

    /// An object of `n` items written in the ways HCL allows, the value of `tags`.
    fn big(n: usize) -> String {
        let mut t = String::from("resource \"aws_subnet\" \"s\" {\n  tags = {\n");
        for i in 0..n {
            let item = match i % 6 {
                0 => format!("    k{i} = \"v{i}\"\n"),
                1 => format!("    \"k{i}\" = \"}}{{,\" # {{ a comment\n"),
                2 => format!("    k{i} = {{ a = [1, 2], b = \"${{1}}\" }},\n"),
                3 => format!("    k{i}: <<EOF\n  }},{{\nEOF\n"),
                4 => format!("    k{i} = 1, k{i}x = 2,\n"),
                _ => format!("    // between\n    (\"k{i}\") = true\n"),
            };
            t.push_str(&item);
        }
        t.push_str("  }\n}\n");
        t
    }

    #[test]
    fn large_objects_read_as_one_object() {
        let n = 3000;
        let text = big(n);
        let s = scan(&text, 64);
        assert_eq!(s.split.len(), 1);
        assert!(s.duplicate.is_none());
        let f = TfFile::parse("t.tf", text.clone()).unwrap();
        let m = evaluate(vec![f], &[]);
        let tags = m.blocks[0].attrs.get("tags").unwrap();
        let Val::Map(items) = &tags.val else {
            panic!("{tags:?}")
        };
        assert_eq!(items.len(), n + n / 6);
        // Keys in order, values and positions as written.
        let lines: Vec<&str> = text.lines().collect();
        for (k, v) in items {
            assert!(v.pos.is_known());
            let line = lines[v.pos.line as usize - 1];
            assert!(line.contains(k.as_str()), "{k} at {:?}: {line}", v.pos);
        }
        assert_eq!(items[0].1.as_str(), Some("v0"));
        assert_eq!(items[1].1.as_str(), Some("}{,"));
        assert_eq!(items[3].1.as_str(), Some("  },{\n"));
        assert!(matches!(items[4].1.val, Val::Int(1)));
        assert_eq!(items[5].0, "k4x");
        assert_eq!(items[6].0, "k5");
        assert!(matches!(items[6].1.val, Val::Bool(true)));
        assert_eq!(items.last().unwrap().0, format!("k{}", n - 1));
    }

    #[test]
    fn the_parser_gets_objects_of_at_most_a_chunk() {
        let text = big(2000);
        let s = scan(&text, 64);
        let parsed = s.text.clone().unwrap();
        let body = hcl_edit::parser::parse_body(&parsed).unwrap();
        let tags = body
            .blocks()
            .next()
            .unwrap()
            .body
            .get_attribute("tags")
            .unwrap();
        let hcl_edit::expr::Expression::Array(parts) = &tags.value else {
            panic!("not split")
        };
        let mut total = 0;
        for p in parts.iter() {
            let hcl_edit::expr::Expression::Object(o) = p else {
                panic!("not an object")
            };
            assert!(o.len() <= CHUNK);
            total += o.len();
        }
        assert_eq!(total, 2000 + 2000 / 6);
        // Offsets map back: the text after every insertion is where it was.
        for &(start, len, _) in &s.shifts {
            let after = start + len;
            let o = s.original(after);
            let (p, t) = (&parsed[after..after + 1], &text[o..o + 1]);
            assert!(p == t || (p == " " && t == ","), "{p:?} {t:?}");
        }
    }

    #[test]
    fn a_key_given_twice_is_an_error_in_any_chunk() {
        let text = big(600).replace("    k598 = ", "    k0 = ");
        let line = text
            .lines()
            .position(|l| l.starts_with("    k0 = 1"))
            .unwrap()
            + 1;
        let e = TfFile::parse("t.tf", text).err().unwrap();
        assert_eq!(e.line, Some(line as u32));
        assert!(
            e.message.contains("object key k0 given twice"),
            "{}",
            e.message
        );
        // Small objects are the parser's to check.
        let e = TfFile::parse("t.tf", "locals {\n a = { x = 1\n x = 2 }\n}\n".into());
        assert!(e.is_err());
    }

    #[test]
    fn for_expressions_and_blocks_are_no_objects() {
        let mut text = String::from("locals {\n  a = {\n    for k, v in var.x :\n");
        text.push_str("    k => v\n");
        text.push_str("  }\n}\n");
        assert!(scan(&text, 64).split.is_empty());
        let mut blocks = String::from("resource \"aws_security_group\" \"s\" {\n");
        for i in 0..600 {
            blocks.push_str(&format!("  a{i} = 1\n"));
        }
        blocks.push_str("}\n");
        assert!(scan(&blocks, 64).split.is_empty());
    }
}
