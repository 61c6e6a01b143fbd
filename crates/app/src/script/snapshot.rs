//! Pre-initialising the JavaScript runner (a Wizer-style snapshot): the runner module
//! with its data segments replaced by its whole linear memory as captured after its
//! `sandbox_init` export ran (QuickJS started, the runner's JavaScript evaluated), so
//! every invocation's fresh instance starts there instead of redoing that work. The
//! pooling allocator maps the new data copy-on-write, so a bigger image costs nothing
//! per instance.
//!
//! Only what the runner needs is handled: one defined memory, active data segments, no
//! start function. After `sandbox_init` returns, the stack pointer global is back at its
//! initial value and no other global changed, so globals are kept as they are.

/// Zero bytes between two non-zero runs below which the runs share one data segment
/// (each segment costs a few bytes of header; thousands of tiny ones cost more).
const MERGE_GAP: usize = 64;

const PAGE: usize = 65536;

/// `wasm` with its memory's initial contents replaced by `memory`.
pub fn rewrite(wasm: &[u8], memory: &[u8]) -> Result<Vec<u8>, String> {
    if wasm.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        return Err("not a core WebAssembly module".into());
    }
    if !memory.len().is_multiple_of(PAGE) {
        return Err("memory is not a whole number of pages".into());
    }
    let segments = segments(memory);
    let mut out = wasm[..8].to_vec();
    let mut at = 8;
    let mut saw_memory = false;
    while at < wasm.len() {
        let id = wasm[at];
        let (size, header) = read_u32(wasm, at + 1)?;
        let body_start = at + 1 + header;
        let body = wasm
            .get(body_start..body_start + size as usize)
            .ok_or("truncated section")?;
        at = body_start + size as usize;
        match id {
            5 => {
                saw_memory = true;
                section(&mut out, 5, &memory_section(body, memory.len() / PAGE)?);
            }
            8 => return Err("the module has a start function".into()),
            11 => {
                check_active(body)?;
                section(&mut out, 11, &data_section(memory, &segments));
            }
            12 => {
                let mut count = Vec::new();
                write_u32(&mut count, segments.len() as u32);
                section(&mut out, 12, &count);
            }
            _ => section(&mut out, id, body),
        }
    }
    if !saw_memory {
        return Err("the module defines no memory".into());
    }
    Ok(out)
}

/// `(start, end)` of the non-zero runs of `memory`, nearby runs merged.
fn segments(memory: &[u8]) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < memory.len() {
        if memory[i] == 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < memory.len() && memory[i] != 0 {
            i += 1;
        }
        match runs.last_mut() {
            Some(last) if start - last.1 < MERGE_GAP => last.1 = i,
            _ => runs.push((start, i)),
        }
    }
    runs
}

fn memory_section(body: &[u8], pages: usize) -> Result<Vec<u8>, String> {
    let (count, mut at) = read_u32(body, 0)?;
    if count != 1 {
        return Err(format!("{count} memories (expected one)"));
    }
    let flags = *body.get(at).ok_or("truncated memory section")?;
    at += 1;
    if flags & !1 != 0 {
        return Err("64-bit or shared memory".into());
    }
    let (minimum, read) = read_u32(body, at)?;
    at += read;
    if pages < minimum as usize {
        return Err("memory smaller than the module's minimum".into());
    }
    let mut out = Vec::new();
    write_u32(&mut out, 1);
    out.push(flags);
    write_u32(&mut out, pages as u32);
    if flags & 1 == 1 {
        let (maximum, _) = read_u32(body, at)?;
        write_u32(&mut out, maximum);
    }
    Ok(out)
}

/// Passive segments would be renumbered away from the `memory.init`s that use them.
fn check_active(body: &[u8]) -> Result<(), String> {
    let (count, mut at) = read_u32(body, 0)?;
    for _ in 0..count {
        let (flags, read) = read_u32(body, at)?;
        at += read;
        if flags != 0 {
            return Err("the module has passive or non-zero-memory data segments".into());
        }
        // i32.const offset, end.
        if body.get(at) != Some(&0x41) {
            return Err("a data segment's offset is not a constant".into());
        }
        let (_, read) = read_u32(body, at + 1)?;
        at += 1 + read;
        if body.get(at) != Some(&0x0b) {
            return Err("a data segment's offset is not a constant".into());
        }
        at += 1;
        let (len, read) = read_u32(body, at)?;
        at += read + len as usize;
    }
    Ok(())
}

fn data_section(memory: &[u8], segments: &[(usize, usize)]) -> Vec<u8> {
    let mut out = Vec::new();
    write_u32(&mut out, segments.len() as u32);
    for &(start, end) in segments {
        out.push(0);
        out.push(0x41);
        write_i32(&mut out, start as i32);
        out.push(0x0b);
        write_u32(&mut out, (end - start) as u32);
        out.extend_from_slice(&memory[start..end]);
    }
    out
}

fn section(out: &mut Vec<u8>, id: u8, body: &[u8]) {
    out.push(id);
    write_u32(out, body.len() as u32);
    out.extend_from_slice(body);
}

/// An unsigned LEB128 number at `at`, and how many bytes it took.
fn read_u32(bytes: &[u8], at: usize) -> Result<(u32, usize), String> {
    let mut value: u64 = 0;
    for i in 0..5 {
        let byte = *bytes.get(at + i).ok_or("truncated number")?;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(value)
                .map(|v| (v, i + 1))
                .map_err(|_| "number too large".into());
        }
    }
    Err("number too long".into())
}

fn write_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_i32(out: &mut Vec<u8>, mut value: i32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_nearby_runs_and_skips_zeros() {
        let mut memory = vec![0u8; PAGE];
        memory[10] = 1;
        memory[20] = 2;
        memory[1000] = 3;
        assert_eq!(segments(&memory), [(10, 21), (1000, 1001)]);
    }

    #[test]
    fn leb128_round_trips() {
        for value in [0u32, 1, 127, 128, 65535, u32::MAX] {
            let mut out = Vec::new();
            write_u32(&mut out, value);
            assert_eq!(read_u32(&out, 0).unwrap(), (value, out.len()));
        }
        let mut out = Vec::new();
        write_i32(&mut out, 64);
        assert_eq!(out, [0xc0, 0x00]);
    }
}
