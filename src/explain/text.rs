//! Text in the two output forms: names as plain text or LaTeX, and the
//! document writer that lays out headings, sentences with inline math and
//! displayed formulas.

/// One piece of text in both output forms.
#[derive(Debug, Clone, PartialEq)]
pub struct Both {
    pub plain: String,
    pub latex: String,
}

impl Both {
    pub fn new(plain: impl Into<String>, latex: impl Into<String>) -> Both {
        Both {
            plain: plain.into(),
            latex: latex.into(),
        }
    }

    pub fn get(&self, latex: bool) -> &str {
        if latex {
            &self.latex
        } else {
            &self.plain
        }
    }
}

const GREEK: &[&str] = &[
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi",
    "Omega",
];

fn is_greek(s: &str) -> bool {
    GREEK.contains(&s)
}

/// Escapes text for LaTeX text mode (and for `\mathit{...}`).
pub fn escape_latex(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '_' | '%' | '&' | '#' | '$' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            // In the default text font encoding these print as other glyphs.
            '<' => out.push_str("\\textless{}"),
            '>' => out.push_str("\\textgreater{}"),
            _ => out.push(c),
        }
    }
    out
}

/// A name of the model in LaTeX: Greek names as letters, a trailing number
/// or `_suffix` after one letter as a subscript (`b0` is `b_0`, `x_max` is
/// `x_{\mathit{max}}`), longer names in italic text.
fn latex_base(name: &str) -> (String, Option<String>) {
    let letter_like =
        |s: &str| s.len() == 1 && s.chars().all(|c| c.is_ascii_alphabetic()) || is_greek(s);
    let render = |s: &str| {
        if is_greek(s) {
            format!("\\{s}")
        } else {
            s.to_string()
        }
    };
    if letter_like(name) {
        return (render(name), None);
    }
    if let Some((head, tail)) = name.split_once('_') {
        if letter_like(head) && !tail.is_empty() {
            let sub = if tail.len() == 1 || tail.chars().all(|c| c.is_ascii_digit()) {
                tail.to_string()
            } else {
                format!("\\mathit{{{}}}", escape_latex(tail))
            };
            return (render(head), Some(sub));
        }
    }
    let digits = name
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits > 0 && digits < name.len() {
        let (head, tail) = name.split_at(name.len() - digits);
        if letter_like(head) {
            return (render(head), Some(tail.to_string()));
        }
    }
    (format!("\\mathit{{{}}}", escape_latex(name)), None)
}

/// A name with subscripts (`["i"]` for a row, `["2", "i"]`, `["i", "j"]`).
/// Plain: `x_i`, `X_ij`, `eta_{2,i}`; LaTeX: `x_i`, `X_{ij}`, `\eta_{2,i}`.
pub fn ident(name: &str, subs: &[&str]) -> Both {
    let short = subs
        .iter()
        .all(|s| s.len() == 1 && s.chars().all(|c| c.is_ascii_alphabetic()));
    let plain = match subs {
        [] => name.to_string(),
        [s] => format!("{name}_{s}"),
        _ if short => format!("{name}_{}", subs.concat()),
        _ => format!("{name}_{{{}}}", subs.join(",")),
    };
    let (base, own) = latex_base(name);
    let mut all: Vec<String> = own.into_iter().collect();
    all.extend(subs.iter().map(|s| s.to_string()));
    let latex = match all.len() {
        0 => base,
        1 if all[0].chars().count() == 1 => format!("{base}_{}", all[0]),
        1 => format!("{base}_{{{}}}", all[0]),
        _ if short && all.len() == subs.len() => format!("{base}_{{{}}}", all.concat()),
        _ => format!("{base}_{{{}}}", all.join(",")),
    };
    Both { plain, latex }
}

/// A piece of a sentence: words, or math already written in the output form.
#[derive(Debug, Clone)]
pub enum Piece {
    Words(String),
    Math(String),
}

pub fn w(s: impl Into<String>) -> Piece {
    Piece::Words(s.into())
}

pub fn m(s: impl Into<String>) -> Piece {
    Piece::Math(s.into())
}

/// The document being written.
pub struct Out {
    pub latex: bool,
    buf: String,
}

impl Out {
    pub fn new(latex: bool) -> Out {
        Out {
            latex,
            buf: String::new(),
        }
    }

    pub fn finish(self) -> String {
        self.buf
    }

    pub fn blank(&mut self) {
        if !self.buf.is_empty() && !self.buf.ends_with("\n\n") {
            self.buf.push('\n');
        }
    }

    /// A section heading: where a statement is, and its source text.
    pub fn heading(&mut self, place: &str, code: &str) {
        self.blank();
        if self.latex {
            let place = escape_latex(place);
            let code = escape_latex(code);
            self.buf
                .push_str(&format!("\\subsection*{{{place}: \\texttt{{{code}}}}}\n"));
        } else {
            self.buf.push_str(&format!("== {place}: {code}\n"));
        }
    }

    /// A sub-heading: a short line ending in a colon.
    pub fn label(&mut self, text: &str) {
        self.label_pieces(&[w(text)]);
    }

    /// A sub-heading with inline math.
    pub fn label_pieces(&mut self, pieces: &[Piece]) {
        self.blank();
        let text = self.render(pieces);
        if self.latex {
            self.buf.push_str(&format!("\\paragraph{{{text}}}\n"));
        } else {
            self.buf.push_str(&format!("{text}:\n"));
        }
    }

    fn render(&self, pieces: &[Piece]) -> String {
        let mut line = String::new();
        for p in pieces {
            match p {
                Piece::Words(t) if self.latex => line.push_str(&escape_latex(t)),
                Piece::Words(t) => line.push_str(t),
                Piece::Math(t) if self.latex => line.push_str(&format!("${t}$")),
                Piece::Math(t) => line.push_str(t),
            }
        }
        line
    }

    /// A list of short statements.
    pub fn items(&mut self, items: &[Vec<Piece>]) {
        if self.latex {
            self.blank();
            self.buf.push_str("\\begin{itemize}\n");
            for it in items {
                let text = self.render(it);
                self.buf.push_str(&format!("  \\item {text}\n"));
            }
            self.buf.push_str("\\end{itemize}\n");
        } else {
            for it in items {
                let text = self.render(it);
                self.buf.push_str(&format!("- {text}\n"));
            }
        }
    }

    /// A sentence or paragraph with inline math.
    pub fn say(&mut self, pieces: &[Piece]) {
        let line = self.render(pieces);
        if self.latex {
            self.blank();
            self.buf.push_str(&line);
            self.buf.push_str("\n\n");
        } else {
            self.buf.push_str(&line);
            self.buf.push('\n');
        }
    }

    /// A displayed formula.
    pub fn formula(&mut self, math: &str) {
        if self.latex {
            self.buf.push_str(&format!("\\[ {math} \\]\n"));
        } else {
            self.buf.push_str(&format!("  {math}\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_latex() {
        assert_eq!(ident("sigma", &[]).latex, "\\sigma");
        assert_eq!(ident("b0", &[]).latex, "b_0");
        assert_eq!(ident("b_lncoins", &[]).latex, "b_{\\mathit{lncoins}}");
        assert_eq!(
            ident("income", &["i"]),
            Both::new("income_i", "\\mathit{income}_i")
        );
        assert_eq!(ident("X", &["i", "j"]), Both::new("X_ij", "X_{ij}"));
        assert_eq!(
            ident("eta", &["2", "i"]),
            Both::new("eta_{2,i}", "\\eta_{2,i}")
        );
        assert_eq!(ident("x1", &["i"]).latex, "x_{1,i}");
        assert_eq!(
            ident("mean_radius", &["i"]).latex,
            "\\mathit{mean\\_radius}_i"
        );
    }
}
