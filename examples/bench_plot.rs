//! Benchmark charts: draws columns of a CSV file written by `bench/run.sh` as an SVG line
//! chart (plotters, SVG backend only: no system fonts or libraries).
//!
//! Usage: `bench_plot --csv FILE --x COLUMN --y COLUMN[,COLUMN...] --title TEXT
//! --xlabel TEXT --ylabel TEXT --out FILE.svg [--logx]`
//!
//! The CSV has a header line of column names, then numbers; one line per measured point.
#![allow(clippy::print_stderr, clippy::unwrap_used, clippy::exit)]

use plotters::prelude::*;

struct Args {
    csv: String,
    x: String,
    ys: Vec<String>,
    title: String,
    xlabel: String,
    ylabel: String,
    out: String,
    logx: bool,
}

fn usage() -> ! {
    eprintln!("usage: bench_plot --csv FILE --x COL --y COL[,COL] --title T --xlabel T --ylabel T --out FILE.svg [--logx]");
    std::process::exit(2)
}

fn args() -> Args {
    let mut a = Args {
        csv: String::new(),
        x: String::new(),
        ys: Vec::new(),
        title: String::new(),
        xlabel: String::new(),
        ylabel: String::new(),
        out: String::new(),
        logx: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| usage());
        match k.as_str() {
            "--csv" => a.csv = v(),
            "--x" => a.x = v(),
            "--y" => a.ys = v().split(',').map(str::to_string).collect(),
            "--title" => a.title = v(),
            "--xlabel" => a.xlabel = v(),
            "--ylabel" => a.ylabel = v(),
            "--out" => a.out = v(),
            "--logx" => a.logx = true,
            _ => usage(),
        }
    }
    if a.csv.is_empty() || a.x.is_empty() || a.ys.is_empty() || a.out.is_empty() {
        usage()
    }
    a
}

/// Columns of the CSV by name.
fn read_csv(path: &str) -> Vec<(String, Vec<f64>)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("bench_plot: {path}: {e}");
        std::process::exit(1)
    });
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let mut cols: Vec<(String, Vec<f64>)> = header.into_iter().map(|h| (h, Vec::new())).collect();
    for l in lines {
        for (i, v) in l.split(',').enumerate() {
            if let (Some(c), Ok(n)) = (cols.get_mut(i), v.trim().parse::<f64>()) {
                c.1.push(n);
            }
        }
    }
    cols
}

fn column<'a>(cols: &'a [(String, Vec<f64>)], name: &str) -> &'a [f64] {
    cols.iter()
        .find(|(h, _)| h == name)
        .map(|(_, v)| v.as_slice())
        .unwrap_or_else(|| {
            eprintln!("bench_plot: no column {name:?}");
            std::process::exit(1)
        })
}

fn main() {
    let a = args();
    let cols = read_csv(&a.csv);
    let xs = column(&cols, &a.x);
    let series: Vec<(&str, &[f64])> =
        a.ys.iter()
            .map(|y| (y.as_str(), column(&cols, y)))
            .collect();
    let xmax = xs.iter().cloned().fold(1.0, f64::max);
    let xmin = xs
        .iter()
        .cloned()
        .fold(f64::MAX, f64::min)
        .max(if a.logx { 0.5 } else { 0.0 });
    let ymax = series
        .iter()
        .flat_map(|(_, v)| v.iter().cloned())
        .fold(0.0, f64::max)
        * 1.1;
    let root = SVGBackend::new(&a.out, (720, 420)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let mut b = ChartBuilder::on(&root);
    b.caption(&a.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60);
    if a.logx {
        let c = b
            .build_cartesian_2d((xmin..xmax * 1.2).log_scale(), 0.0..ymax.max(1e-9))
            .unwrap();
        draw(c, &a, xs, &series);
    } else {
        let c = b
            .build_cartesian_2d(xmin..xmax * 1.05, 0.0..ymax.max(1e-9))
            .unwrap();
        draw(c, &a, xs, &series);
    }
    root.present().unwrap();
}

/// The mesh, one line with points per series, and the legend.
fn draw<'a, X>(
    mut chart: ChartContext<
        'a,
        SVGBackend<'a>,
        Cartesian2d<X, plotters::coord::types::RangedCoordf64>,
    >,
    a: &Args,
    xs: &[f64],
    series: &[(&str, &[f64])],
) where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let colors = [BLUE, RED, GREEN, MAGENTA, BLACK];
    chart
        .configure_mesh()
        .x_desc(&a.xlabel)
        .y_desc(&a.ylabel)
        .draw()
        .unwrap();
    for (i, (name, ys)) in series.iter().enumerate() {
        let c = colors[i % colors.len()];
        let pts: Vec<(f64, f64)> = xs.iter().cloned().zip(ys.iter().cloned()).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
            .unwrap()
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled())))
            .unwrap();
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .unwrap();
}
