// SPDX-License-Identifier: GPL-2.0-only
//! Reading a line against the format it was written with: `"Rate: {}
//! bits/sec, {} packets/sec"` gives the two numbers of a `Rate:` line. A
//! space in the template stands for any run of white space (including
//! none), since /proc pads columns; `{}` takes everything up to the
//! template's next character, or the rest of the line when it is last.

/// The fields of `line` in the places of the template's `{}`, or `None`
/// when the line is not of that form.
pub fn fields<'a>(template: &str, line: &'a str) -> Option<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut t = template;
    let mut l = line;
    while !t.is_empty() {
        if let Some(rest) = t.strip_prefix("{}") {
            t = rest;
            let end = match t.chars().next() {
                None => l.len(),
                Some(' ') => l.find(char::is_whitespace).unwrap_or(l.len()),
                Some(c) => l.find(c)?,
            };
            out.push(&l[..end]);
            l = &l[end..];
        } else if let Some(rest) = t.strip_prefix(' ') {
            t = rest;
            l = l.trim_start();
        } else {
            let c = t.chars().next()?;
            t = &t[c.len_utf8()..];
            l = l.strip_prefix(c)?;
        }
    }
    l.is_empty().then_some(out)
}

/// [`fields`], each parsed as a number; `None` if any is not one.
pub fn numbers(template: &str, line: &str) -> Option<Vec<u64>> {
    fields(template, line)?
        .iter()
        .map(|f| f.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_their_places() {
        assert_eq!(
            fields(
                "Rate: {} bits/sec, {} packets/sec",
                "Rate: 10 bits/sec, 2 packets/sec"
            ),
            Some(vec!["10", "2"])
        );
        assert_eq!(fields("a {}", "a rest of it"), Some(vec!["rest of it"]));
        assert_eq!(fields("cpu{} {};", "cpu1       3;"), Some(vec!["1", "3"]));
        assert_eq!(fields("x{}.", "x."), Some(vec![""]));
    }

    #[test]
    fn other_lines_do_not_match() {
        assert_eq!(fields("Rate: {} bits", "Rates: 1 bits"), None);
        assert_eq!(fields("Rate: {} bits", "Rate: 1 bits and more"), None);
        assert_eq!(fields("Rate: {} bits", "Rate: 1"), None);
        assert_eq!(numbers("n {}", "n x"), None);
        assert_eq!(
            numbers("n {}", "n 18446744073709551615"),
            Some(vec![u64::MAX])
        );
    }
}
