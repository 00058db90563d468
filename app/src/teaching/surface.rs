//! The function drawn as a heat map with contours, and the race over it.

use egui::{Color32, ColorImage, TextureHandle, TextureOptions, Ui};
use egui_plot::{Legend, Line, MarkerShape, Plot, PlotImage, PlotPoint, PlotPoints, Points};
use stepwise_landscape::{BasinGrid, loss_colours};
use stepwise_optim::TestFunction;

use super::TeachingView;
use crate::series::run_color;

/// Pixels per side of the function's heat map.
pub(super) const SURFACE_RESOLUTION: usize = 256;
/// Contour levels across the heat map's colour range.
pub(super) const CONTOURS: f64 = 14.0;

impl TeachingView {
    /// The function as a heat map with contours, the trajectories, start and minimum.
    pub(super) fn surface_ui(&mut self, ui: &mut Ui) {
        let texture = self.surface_texture(ui.ctx());
        let ((x0, x1), (y0, y1)) = self.function.region();
        let shown = (self.shown as usize).min(self.steps as usize);
        let function = self.function;
        let start = self.start;
        // Brings the trajectories up to date; the plot then borrows them.
        self.trajectories();
        let (racers, trajectories) = (&self.racers, &self.trajectories);
        // Where each racer is at the step shown, above the plot.
        let finals: Vec<String> = trajectories
            .iter()
            .zip(&self.racers)
            .filter(|(_, r)| r.enabled)
            .map(|(t, r)| match t {
                Ok(points) => {
                    let p = points[shown.min(points.len() - 1)];
                    format!(
                        "{}: loss {:.4e} at ({:.3}, {:.3})",
                        r.spec.label(),
                        p.loss,
                        p.x,
                        p.y
                    )
                }
                Err(reason) => format!("{}: {reason}", r.spec.label()),
            })
            .collect();
        ui.label(format!("step {shown} of {}", self.steps));
        for line in finals {
            ui.label(line);
        }
        let response = Plot::new(format!("surface {function}"))
            .data_aspect(1.0)
            .allow_drag(false)
            .allow_double_click_reset(true)
            .legend(Legend::default())
            // The function's region, whatever a diverging trajectory does (zoom out to follow it).
            .default_x_bounds(f64::from(x0), f64::from(x1))
            .default_y_bounds(f64::from(y0), f64::from(y1))
            .show(ui, |plot| {
                plot.add(PlotImage::new(
                    "",
                    texture.id(),
                    PlotPoint::new(f64::from(x0 + x1) / 2.0, f64::from(y0 + y1) / 2.0),
                    egui::vec2(x1 - x0, y1 - y0),
                ));
                if let Some([mx, my]) = function.minimum() {
                    plot.add(
                        Points::new("minimum", vec![[f64::from(mx), f64::from(my)]])
                            .shape(MarkerShape::Asterisk)
                            .radius(7.0)
                            .color(Color32::WHITE),
                    );
                }
                for (index, (racer, trajectory)) in racers.iter().zip(trajectories).enumerate() {
                    let Ok(points) = trajectory else { continue };
                    if !racer.enabled {
                        continue;
                    }
                    let name = racer.spec.label();
                    let drawn: Vec<[f64; 2]> = points[..=shown.min(points.len() - 1)]
                        .iter()
                        .filter(|p| p.x.is_finite() && p.y.is_finite())
                        .map(|p| [f64::from(p.x), f64::from(p.y)])
                        .collect();
                    let head = drawn.last().copied();
                    plot.line(
                        Line::new(name.clone(), PlotPoints::from(drawn))
                            .color(run_color(index))
                            .width(2.0),
                    );
                    if let Some(head) = head {
                        plot.add(
                            Points::new(name, vec![head])
                                .radius(4.0)
                                .color(run_color(index)),
                        );
                    }
                }
                plot.add(
                    Points::new("start", vec![[f64::from(start[0]), f64::from(start[1])]])
                        .shape(MarkerShape::Circle)
                        .radius(5.0)
                        .filled(false)
                        .color(Color32::WHITE),
                );
                (plot.response().clicked(), plot.pointer_coordinate())
            });
        if let (true, Some(at)) = response.inner {
            self.start = [at.x as f32, at.y as f32];
            self.scenario = None;
            self.restart();
        }
    }

    /// The surface's heat map, made once per function.
    pub(super) fn surface_texture(&mut self, ctx: &egui::Context) -> TextureHandle {
        if let Some((function, texture)) = &self.surface
            && *function == self.function
        {
            return texture.clone();
        }
        let image = surface_image(self.function);
        let texture = ctx.load_texture(
            format!("surface {}", self.function),
            image,
            TextureOptions::LINEAR,
        );
        self.surface = Some((self.function, texture.clone()));
        texture
    }
}

/// The function's heat map: `asinh` of the value on viridis (as the basin map), with contour lines
/// where the colour crosses one of [`CONTOURS`] evenly spaced levels.
pub(super) fn surface_image(function: TestFunction) -> ColorImage {
    let n = SURFACE_RESOLUTION;
    let grid = BasinGrid {
        x_range: function.region().0,
        y_range: function.region().1,
        resolution: n as u32,
    };
    let values: Vec<f32> = grid
        .starts()
        .iter()
        .map(|&[x, y]| function.value(x, y))
        .collect();
    let mut rgba = loss_colours(values.iter().copied());
    let shaped: Vec<f64> = values.iter().map(|&v| f64::from(v).asinh()).collect();
    let (lo, hi) = shaped
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let level = |v: f64| ((v - lo) / (hi - lo).max(f64::MIN_POSITIVE) * CONTOURS).floor();
    for row in 0..n {
        for col in 0..n {
            let here = level(shaped[row * n + col]);
            let right = (col + 1 < n).then(|| level(shaped[row * n + col + 1]));
            let below = (row + 1 < n).then(|| level(shaped[(row + 1) * n + col]));
            if right.is_some_and(|l| l != here) || below.is_some_and(|l| l != here) {
                let pixel = &mut rgba[(row * n + col) * 4..(row * n + col) * 4 + 3];
                for channel in pixel {
                    *channel = (u16::from(*channel) * 3 / 5) as u8;
                }
            }
        }
    }
    ColorImage::from_rgba_unmultiplied([n, n], &rgba)
}
