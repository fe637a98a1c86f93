//! The chart: for each figure, one horizontal bar per contender, its median as a ratio to the
//! raw Linux baseline (log scale; 1 = as fast as the raw calls, left of it = faster).

use std::path::Path;

use plotters::prelude::*;

const COLORS: &[RGBColor] = &[
    RGBColor(120, 120, 120), // raw
    RGBColor(31, 119, 180),  // filemap-c
    RGBColor(44, 160, 44),   // filemap-rust
    RGBColor(255, 127, 14),  // posix-named
    RGBColor(148, 103, 189), // shared_memory
    RGBColor(214, 39, 40),   // boost
    RGBColor(140, 86, 75),   // wine
];

/// One figure's bars: (figure, [(contender, ratio to raw)]).
pub type Row = (String, Vec<(String, Option<f64>)>);

/// Draws `rows` into an SVG file.
// LONG: plotters' builder calls for one chart, in drawing order.
pub fn draw(path: &Path, contenders: &[&str], rows: &[Row]) -> Result<(), String> {
    let rows: Vec<_> = rows.iter().filter(|(_, r)| r.iter().any(|(_, v)| v.is_some())).collect();
    let per = contenders.len() as f64 + 1.0;
    let height = 140 + (rows.len() as f64 * per * 11.0) as u32;
    let root = SVGBackend::new(path, (1000, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (lo, hi) = rows
        .iter()
        .flat_map(|(_, r)| r.iter().filter_map(|(_, v)| *v))
        .fold((1.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = ((lo / 2.0).max(1e-4), hi * 2.0);
    let n = rows.len() as f64 * per;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "filemap vs the alternatives: median time as a multiple of the raw Linux calls (log scale)",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(170)
        .build_cartesian_2d((lo..hi).log_scale(), n..0.0f64)
        .map_err(|e| e.to_string())?;
    let labels: Vec<(f64, String)> =
        rows.iter().enumerate().map(|(i, (f, _))| (i as f64 * per + per / 2.0, f.clone())).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("ratio to raw (1 = the raw calls; lower is faster)")
        .draw()
        .map_err(|e| e.to_string())?;
    for (y, label) in &labels {
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (lo, *y),
                TextStyle::from(("sans-serif", 13).into_font()).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Center,
                )),
            )))
            .map_err(|e| e.to_string())?;
    }
    for (ci, name) in contenders.iter().enumerate() {
        let color = COLORS[ci % COLORS.len()];
        let bars = rows.iter().enumerate().filter_map(|(i, (_, r))| {
            let v = r.iter().find(|(n, _)| n == name)?.1?;
            let y = i as f64 * per + 0.5 + ci as f64;
            Some(Rectangle::new([(lo, y), (v, y + 0.9)], color.filled()))
        });
        chart
            .draw_series(bars)
            .map_err(|e| e.to_string())?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .draw_series(std::iter::once(PathElement::new(vec![(1.0, 0.0), (1.0, n)], BLACK.stroke_width(1))))
        .map_err(|e| e.to_string())?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
