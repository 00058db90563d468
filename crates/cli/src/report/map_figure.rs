//! The basin and hyperparameter maps as figures: the map in the problem's units with axes, a
//! title, a colour bar of the final loss, and the points that matter marked.

use plotters::coord::Shift;
use plotters::element::BitMapElement;
use plotters::prelude::*;
use stepwise_landscape::LossScale;

use super::plots::{Pen, register_font};
use crate::commands::Error;

/// Size of a map figure in logical pixels; its PNG is drawn at twice that.
pub const FIGURE: (u32, u32) = (900, 760);
const PNG_SCALE: u32 = 2;
/// Maps up to this many cells per side draw each cell as a rectangle (exact edges, small SVGs);
/// larger ones as a bitmap scaled to the plot.
const CELLS_AS_RECTANGLES: u32 = 64;

/// One axis of a map: its label and range, in the problem's units (log10 of the value where
/// `log10`, labelled with the value itself).
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// What it measures.
    pub label: String,
    /// Its range (of log10 of the value where `log10`).
    pub range: (f64, f64),
    /// Whether positions are log10 of the value.
    pub log10: bool,
}

impl Axis {
    fn tick(&self, v: f64) -> String {
        if self.log10 {
            format!("{:.0e}", 10f64.powf(v))
        } else {
            let text = format!("{v:.2}");
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
    }
}

/// A point marked on a map, at axis positions.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// Where (x, y), in axis positions.
    pub at: (f64, f64),
    /// What it is, for the legend.
    pub label: String,
    /// Its shape.
    pub shape: Shape,
}

/// How a mark is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A white circle: the best cell.
    Best,
    /// A white cross: a start point.
    Start,
    /// A white triangle: the function's minimum.
    Minimum,
}

/// A square map of final losses and what to draw around it.
pub struct MapFigure {
    /// The title.
    pub title: String,
    /// Columns, left to right.
    pub x: Axis,
    /// Rows, bottom to top.
    pub y: Axis,
    /// Cells per side.
    pub resolution: u32,
    /// RGBA cells, row by row from the top (as the maps compute them).
    pub rgba: Vec<u8>,
    /// The colour scale the cells were coloured on.
    pub scale: LossScale,
    /// Points to mark.
    pub marks: Vec<Mark>,
}

impl MapFigure {
    /// The figure as a PNG, at twice [`FIGURE`].
    ///
    /// # Errors
    /// When it cannot be drawn or encoded.
    pub fn png(&self) -> Result<Vec<u8>, Error> {
        register_font()?;
        let (width, height) = (FIGURE.0 * PNG_SCALE, FIGURE.1 * PNG_SCALE);
        let mut pixels = vec![0_u8; (width * height * 3) as usize];
        self.draw(
            BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area(),
            Pen(PNG_SCALE),
        )?;
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_raw(width, height, pixels)
            .ok_or_else(|| Error::Failed("map buffer has the wrong size".into()))?
            .write_to(&mut png, image::ImageFormat::Png)
            .map_err(|err| Error::Failed(format!("map PNG: {err}")))?;
        Ok(png.into_inner())
    }

    /// Draws the figure on `area` at `pen`'s scale.
    ///
    /// # Errors
    /// When the backend fails.
    fn draw<DB: DrawingBackend>(
        &self,
        area: DrawingArea<DB, Shift>,
        pen: Pen,
    ) -> Result<(), Error> {
        let fail =
            |err: DrawingAreaErrorKind<DB::ErrorType>| Error::Failed(format!("map figure: {err}"));
        area.fill(&WHITE).map_err(fail)?;
        let area = area
            .margin(pen.px(10), 0, 0, 0)
            .titled(&self.title, pen.font(20))
            .map_err(fail)?;
        let (map_area, bar_area) = area.split_horizontally(area.dim_in_pixel().0 * 84 / 100);
        self.map(&map_area, pen).map_err(fail)?;
        self.colour_bar(&bar_area, pen).map_err(fail)?;
        area.present().map_err(fail)
    }

    fn map<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        pen: Pen,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (x0, x1) = self.x.range;
        let (y0, y1) = self.y.range;
        let mut chart = ChartBuilder::on(area)
            .margin(pen.px(10))
            .x_label_area_size(pen.px(44))
            .y_label_area_size(pen.px(64))
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let n = self.resolution.max(1);
        let cell = |i: u32, (lo, hi): (f64, f64)| lo + f64::from(i) * (hi - lo) / f64::from(n);
        if n <= CELLS_AS_RECTANGLES {
            chart.draw_series((0..n).flat_map(|row| {
                (0..n).map(move |col| {
                    let at = ((row * n + col) * 4) as usize;
                    let [r, g, b] = [self.rgba[at], self.rgba[at + 1], self.rgba[at + 2]];
                    Rectangle::new(
                        [
                            (cell(col, self.x.range), cell(n - row, self.y.range)),
                            (cell(col + 1, self.x.range), cell(n - 1 - row, self.y.range)),
                        ],
                        RGBColor(r, g, b).filled(),
                    )
                })
            }))?;
        } else {
            let (width, height) = chart.plotting_area().dim_in_pixel();
            let scaled = scaled_rgb(&self.rgba, n, (width, height));
            if let Some(bitmap) =
                BitMapElement::with_owned_buffer((x0, y1), (width, height), scaled)
            {
                chart.draw_series(std::iter::once(bitmap))?;
            }
        }
        let (x, y) = (self.x.clone(), self.y.clone());
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.x.label)
            .y_desc(&self.y.label)
            .x_label_formatter(&|v| x.tick(*v))
            .y_label_formatter(&|v| y.tick(*v))
            .label_style(pen.font(14))
            .draw()?;
        for mark in &self.marks {
            let size = pen.px(7) as i32;
            let outline = BLACK.stroke_width(pen.px(2));
            let fill = WHITE.filled();
            let series = match mark.shape {
                Shape::Best => chart.draw_series([
                    Circle::new(mark.at, size, fill).into_dyn(),
                    Circle::new(mark.at, size, outline).into_dyn(),
                ])?,
                Shape::Start => chart.draw_series([
                    Cross::new(
                        mark.at,
                        size + pen.px(2) as i32,
                        BLACK.stroke_width(pen.px(5)),
                    )
                    .into_dyn(),
                    Cross::new(mark.at, size, WHITE.stroke_width(pen.px(2))).into_dyn(),
                ])?,
                Shape::Minimum => chart.draw_series([
                    TriangleMarker::new(mark.at, size + pen.px(1) as i32, BLACK.filled())
                        .into_dyn(),
                    TriangleMarker::new(mark.at, size - pen.px(1) as i32, fill).into_dyn(),
                ])?,
            };
            let shape = mark.shape;
            series.label(&mark.label).legend(move |(px, py)| {
                let legend: DynElement<'static, DB, (i32, i32)> = match shape {
                    Shape::Best => Circle::new((px, py), size, BLACK.stroke_width(2)).into_dyn(),
                    Shape::Start => Cross::new((px, py), size, BLACK.stroke_width(2)).into_dyn(),
                    Shape::Minimum => {
                        TriangleMarker::new((px, py), size, BLACK.filled()).into_dyn()
                    }
                };
                legend
            });
        }
        if !self.marks.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .legend_area_size(pen.px(24))
                .label_font(pen.font(13))
                .position(SeriesLabelPosition::UpperRight)
                .draw()?;
        }
        Ok(())
    }

    /// The colour scale, labelled with losses, and the diverged colour below it.
    fn colour_bar<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        pen: Pen,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let mut chart = ChartBuilder::on(area)
            .margin_top(pen.px(10))
            .margin_bottom(pen.px(54))
            .margin_right(pen.px(4))
            .y_label_area_size(pen.px(72))
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        const STEPS: u32 = 128;
        chart.draw_series((0..STEPS).map(|i| {
            let (lo, hi) = (
                f64::from(i) / f64::from(STEPS),
                f64::from(i + 1) / f64::from(STEPS),
            );
            let [r, g, b, _] = self
                .scale
                .colour(self.scale.loss_at((lo + hi) / 2.0) as f32);
            Rectangle::new([(0.0, lo), (1.0, hi)], RGBColor(r, g, b).filled())
        }))?;
        let scale = self.scale;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(6)
            .y_desc("final loss")
            .y_label_formatter(&|v| format_loss(scale.loss_at(*v)))
            .label_style(pen.font(12))
            .draw()?;
        let [r, g, b, _] = stepwise_landscape::DIVERGED;
        let (_, height) = area.dim_in_pixel();
        let swatch = pen.px(14) as i32;
        let left = pen.px(72) as i32;
        let top = height as i32 - pen.px(40) as i32;
        area.draw(&Rectangle::new(
            [(left, top), (left + swatch, top + swatch)],
            RGBColor(r, g, b).filled(),
        ))?;
        area.draw(&Text::new(
            "diverged",
            (left + swatch + pen.px(4) as i32, top),
            pen.font(12),
        ))?;
        Ok(())
    }
}

/// A loss for a colour bar's tick or a label: 3 significant digits.
pub fn format_loss(loss: f64) -> String {
    if loss == 0.0 || (1e-2..1e4).contains(&loss.abs()) {
        let text = format!("{loss:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        format!("{loss:.2e}")
    }
}

/// The RGBA map of `side` cells per side as RGB pixels of `size`, nearest cell for each pixel.
fn scaled_rgb(rgba: &[u8], side: u32, (width, height): (u32, u32)) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for py in 0..height {
        let row = (u64::from(py) * u64::from(side) / u64::from(height.max(1))) as u32;
        for px in 0..width {
            let col = (u64::from(px) * u64::from(side) / u64::from(width.max(1))) as u32;
            let at = ((row.min(side - 1) * side + col.min(side - 1)) * 4) as usize;
            rgb.extend_from_slice(&rgba[at..at + 3]);
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::svg_labels;

    /// A 4x4 map read back as SVG: the title, each axis in the problem's units, the colour bar's
    /// losses from the smallest to the largest, and the marks in the legend.
    #[test]
    fn a_map_has_axes_a_colour_bar_a_title_and_marks() {
        register_font().expect("font");
        let mut losses: Vec<f32> = (0..16_u8).map(f32::from).collect();
        losses[15] = f32::NAN;
        let scale = LossScale::of(losses.iter().copied());
        let rgba: Vec<u8> = losses.iter().flat_map(|&l| scale.colour(l)).collect();
        let figure = MapFigure {
            title: "Basin of SGD on rosenbrock".into(),
            x: Axis {
                label: "learning rate".into(),
                range: (-4.0, 0.0),
                log10: true,
            },
            y: Axis {
                label: "momentum".into(),
                range: (0.0, 0.99),
                log10: false,
            },
            resolution: 4,
            rgba,
            scale,
            marks: vec![Mark {
                at: (-3.5, 0.86),
                label: "best: loss 0".into(),
                shape: Shape::Best,
            }],
        };
        let mut svg = String::new();
        figure
            .draw(
                SVGBackend::with_string(&mut svg, FIGURE).into_drawing_area(),
                Pen(1),
            )
            .expect("drawn");
        let labels = svg_labels(&svg, false);
        for expected in [
            "Basin of SGD on rosenbrock",
            "learning rate",
            "momentum",
            "final loss",
            "diverged",
            "best: loss 0",
            "1e-4",
            "1e0",
            "0",
            "14",
        ] {
            assert!(labels.contains(&expected), "{expected:?} in {labels:?}");
        }
        assert!(
            !labels
                .iter()
                .any(|l| l.parse::<f64>().is_ok_and(|v| v > 14.0)),
            "no loss past the largest: {labels:?}"
        );
        // 16 cells, the diverged one red, besides the colour bar's red swatch.
        assert_eq!(
            svg.matches("fill=\"#DC1E1E\"").count(),
            2,
            "the diverged cell and the swatch"
        );
    }
}
