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
    .map_err(|_| anyhow!("the layout library failed to lay out the topology"))
}
