//! Convert a CSV data file to an Arrow IPC file that `nll` reads the same way.
//!
//! ```text
//! cargo run --release --example csv_to_arrow -- IN.csv OUT.arrow [--stream] [--batch-rows N]
//! ```
//!
//! Each column becomes `Int64` when every present cell is an integer,
//! `Float64` when every present cell is a number, and `Utf8` (the trimmed
//! text, kept as it is) otherwise. In numeric columns, empty cells and the
//! missing-value markers (`NA`, `NaN`, …) become nulls. `--stream` writes
//! the stream format instead of the file format.

use std::error::Error;
use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_ipc::writer::{FileWriter, StreamWriter};
use arrow_schema::{DataType, Field, Schema};
use nll::data::MISSING_MARKERS;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Text,
}

fn is_missing(cell: &str) -> bool {
    cell.is_empty() || MISSING_MARKERS.contains(&cell)
}

fn reader(path: &str) -> Result<csv::Reader<File>, Box<dyn Error>> {
    Ok(csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(File::open(path)?))
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut paths = Vec::new();
    let mut stream = false;
    let mut batch_rows = 65_536usize;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--stream" => stream = true,
            "--batch-rows" => {
                batch_rows = it.next().ok_or("--batch-rows needs a number")?.parse()?
            }
            _ => paths.push(arg.clone()),
        }
    }
    let [input, output] = paths.as_slice() else {
        return Err("usage: csv_to_arrow IN.csv OUT.arrow [--stream] [--batch-rows N]".into());
    };

    // First pass: the type of each column.
    let mut rdr = reader(input)?;
    let names: Vec<String> = rdr.headers()?.iter().map(str::to_string).collect();
    let mut kinds = vec![Kind::Int; names.len()];
    for record in rdr.records() {
        for (kind, cell) in kinds.iter_mut().zip(record?.iter()) {
            if *kind == Kind::Text || is_missing(cell) {
                continue;
            }
            if *kind == Kind::Int && cell.parse::<i64>().is_err() {
                *kind = Kind::Float;
            }
            if *kind == Kind::Float && cell.parse::<f64>().is_err() {
                *kind = Kind::Text;
            }
        }
    }
    let fields: Vec<Field> = names
        .iter()
        .zip(&kinds)
        .map(|(name, kind)| {
            let data_type = match kind {
                Kind::Int => DataType::Int64,
                Kind::Float => DataType::Float64,
                Kind::Text => DataType::Utf8,
            };
            Field::new(name, data_type, true)
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));

    // Second pass: the batches.
    enum Builder {
        Int(Int64Builder),
        Float(Float64Builder),
        Text(StringBuilder),
    }
    let new_builders = || -> Vec<Builder> {
        kinds
            .iter()
            .map(|kind| match kind {
                Kind::Int => Builder::Int(Int64Builder::new()),
                Kind::Float => Builder::Float(Float64Builder::new()),
                Kind::Text => Builder::Text(StringBuilder::new()),
            })
            .collect()
    };
    let finish = |builders: &mut Vec<Builder>| -> Result<RecordBatch, Box<dyn Error>> {
        let columns: Vec<ArrayRef> = builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Int(b) => Arc::new(b.finish()),
                    Builder::Float(b) => Arc::new(b.finish()),
                    Builder::Text(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    };

    let out = BufWriter::new(File::create(output)?);
    let mut file_writer = None;
    let mut stream_writer = None;
    if stream {
        stream_writer = Some(StreamWriter::try_new(out, &schema)?);
    } else {
        file_writer = Some(FileWriter::try_new(out, &schema)?);
    }
    let mut write = |batch: RecordBatch| -> Result<(), Box<dyn Error>> {
        match (&mut file_writer, &mut stream_writer) {
            (Some(w), _) => w.write(&batch)?,
            (_, Some(w)) => w.write(&batch)?,
            _ => unreachable!(),
        }
        Ok(())
    };

    let mut builders = new_builders();
    let mut n_in_batch = 0;
    for record in reader(input)?.records() {
        let record = record?;
        for (builder, cell) in builders.iter_mut().zip(record.iter()) {
            match builder {
                Builder::Int(b) => {
                    b.append_option((!is_missing(cell)).then(|| cell.parse().unwrap()))
                }
                Builder::Float(b) => {
                    b.append_option((!is_missing(cell)).then(|| cell.parse().unwrap()))
                }
                Builder::Text(b) => b.append_value(cell),
            }
        }
        n_in_batch += 1;
        if n_in_batch == batch_rows {
            write(finish(&mut builders)?)?;
            n_in_batch = 0;
        }
    }
    if n_in_batch > 0 {
        write(finish(&mut builders)?)?;
    }
    drop(write);
    if let Some(mut w) = file_writer {
        w.finish()?;
    }
    if let Some(mut w) = stream_writer {
        w.finish()?;
    }
    Ok(())
}
