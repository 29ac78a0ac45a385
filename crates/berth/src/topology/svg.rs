//! `--format svg`: the DOT of [`super::dot`] laid out and drawn by the
//! layout-rs library (a Graphviz-style layered layout written in Rust: DOT
//! parser, rank assignment, crossing reduction, SVG writer), so no
//! coordinate is placed by hand and no external program is needed.

use anyhow::{anyhow, Result};
use layout::backends::svg::SVGWriter;
use layout::gv::{DotParser, GraphBuilder};

/// Lays out `dot` and returns the SVG document.
pub fn render(dot: &str) -> Result<String> {
    let graph = DotParser::new(dot)
        .process()
        .map_err(|e| anyhow!("the topology's DOT does not parse: {e}"))?;
    // The layout library asserts on inputs it cannot handle; a bug there
    // must be an error of this command, not a crash.
    std::panic::catch_unwind(|| {
        let mut builder = GraphBuilder::new();
        builder.visit_graph(&graph);
        let mut vg = builder.get();
        let mut svg = SVGWriter::new();
        vg.do_it(false, false, false, &mut svg);
        svg.finalize()
    })
    .map(|s| crop(&s))
    .map_err(|_| anyhow!("the layout library failed to lay out the topology"))
}

/// The value of attribute `name` in tag text `tag`.
fn attr(tag: &str, name: &str) -> Option<f64> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    tag[start..start + len].parse().ok()
}

/// Shrinks the canvas to the boxes drawn, plus a margin: layout-rs grows
/// the canvas by ten pixels per character of every label, which leaves a
/// tall blank area under wide labels.
fn crop(svg: &str) -> String {
    let (mut w, mut h) = (0f64, 0f64);
    for tag in svg.split("<rect").skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        if let (Some(x), Some(y), Some(tw), Some(th)) = (
            attr(tag, "x"),
            attr(tag, "y"),
            attr(tag, "width"),
            attr(tag, "height"),
        ) {
            w = w.max(x + tw);
            h = h.max(y + th);
        }
    }
    let Some(open) = svg.find("<svg ") else {
        return svg.to_string();
    };
    let end = svg[open..].find('>').map_or(svg.len(), |e| open + e);
    if w <= 0.0 || h <= 0.0 {
        return svg.to_string();
    }
    let (w, h) = (w + 30.0, h + 30.0);
    format!(
        "{}<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\"{}",
        &svg[..open],
        &svg[end..]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn crop_fits_the_boxes() {
        let svg = "<?xml?><svg width=\"900\" height=\"2000\" viewBox=\"0 0 900 2000\" xmlns=\"http://www.w3.org/2000/svg\">\n<rect x=\"10\" y=\"20\" width=\"100\" height=\"50\" /></svg>";
        let out = super::crop(svg);
        assert!(
            out.contains("<svg width=\"140\" height=\"100\" viewBox=\"0 0 140 100\""),
            "{out}"
        );
        assert!(
            out.ends_with("<rect x=\"10\" y=\"20\" width=\"100\" height=\"50\" /></svg>"),
            "{out}"
        );
    }
}
