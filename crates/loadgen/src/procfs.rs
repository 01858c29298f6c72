//! What the kernel says about a process and the machine: CPU time, name and
//! RSS of a pid, busy and stolen CPU time, the CPU model and memory, the
//! clock tick, and the open-file limit.
//!
//! The parsers take the file's text and are tested on samples; the readers
//! only open the files.

use std::io;

/// CPU time a process spent, user and system, in clock ticks
/// (fields 14 and 15 of `/proc/<pid>/stat`).
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and parentheses: the fields
    // that follow start after its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // `rest` starts at field 3 (state); utime is field 14.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The resident set size in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn parse_status_rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    let unit = parts.next().unwrap_or("kB");
    let factor = match unit {
        "kB" => 1024,
        "mB" | "MB" => 1024 * 1024,
        _ => 1,
    };
    Some(value * factor)
}

/// The command name of a process (field 2 of `/proc/<pid>/stat`, between
/// the first `(` and the last `)`: it may hold both, and spaces).
pub fn parse_stat_name(stat: &str) -> Option<&str> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    (open < close).then(|| &stat[open + 1..close])
}

/// The machine's CPU time from the `cpu` line of `/proc/stat`, summed over
/// every CPU, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTotals {
    /// user + nice + system + irq + softirq: time some process or the kernel ran.
    pub busy: u64,
    /// Time the hypervisor gave to someone else (the eighth value).
    pub steal: u64,
    /// The first eight values summed (busy, idle, iowait and steal): all the
    /// time there was.
    pub total: u64,
    /// How many `cpuN` lines the file lists.
    pub cpus: u32,
}

impl CpuTotals {
    /// The share of the time between `self` and a later reading that was
    /// busy, in percent (0 when no time passed).
    pub fn busy_percent_until(&self, later: &CpuTotals) -> f64 {
        let busy = later.busy.saturating_sub(self.busy);
        let total = later.total.saturating_sub(self.total).max(1);
        100.0 * busy as f64 / total as f64
    }
}

pub fn parse_proc_stat(stat: &str) -> Option<CpuTotals> {
    let mut totals = None;
    let mut cpus = 0;
    for line in stat.lines() {
        let mut fields = line.split_whitespace();
        match fields.next() {
            Some("cpu") => {
                let values: Vec<u64> = fields.map_while(|v| v.parse().ok()).collect();
                if values.len() >= 8 {
                    let [user, nice, system, idle, iowait, irq, softirq, steal] =
                        values[..8].try_into().ok()?;
                    let busy = user + nice + system + irq + softirq;
                    totals = Some((busy, steal, busy + idle + iowait + steal));
                }
            }
            Some(name) if name.starts_with("cpu") => cpus += 1,
            _ => {}
        }
    }
    let (busy, steal, total) = totals?;
    Some(CpuTotals {
        busy,
        steal,
        total,
        cpus,
    })
}

/// The first `model name` of `/proc/cpuinfo`.
pub fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
pub fn parse_mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Every process's command name and CPU ticks (those that vanish while
/// being read are left out).
pub fn all_processes() -> io::Result<Vec<(u32, String, u64)>> {
    let mut processes = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let (Some(name), Some(ticks)) = (parse_stat_name(&stat), parse_stat_cpu_ticks(&stat)) {
            processes.push((pid, name.to_owned(), ticks));
        }
    }
    Ok(processes)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
pub fn clock_ticks_per_second() -> u64 {
    rustix::param::clock_ticks_per_second().max(1)
}

pub fn process_cpu_ticks(pid: u32) -> io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat_cpu_ticks(&text).ok_or_else(|| unreadable("stat", pid))
}

pub fn process_rss_bytes(pid: u32) -> io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status_rss_bytes(&text).ok_or_else(|| unreadable("status", pid))
}

/// The whole machine's CPU time.
pub fn system_cpu() -> io::Result<CpuTotals> {
    let text = std::fs::read_to_string("/proc/stat")?;
    parse_proc_stat(&text)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no cpu line in /proc/stat"))
}

fn unreadable(file: &str, pid: u32) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unreadable /proc/{pid}/{file}"),
    )
}

/// Raises the soft open-file limit to the hard limit; returns the new soft limit.
/// Children (the server, the workers) inherit it.
pub fn raise_open_file_limit() -> io::Result<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        )?;
    }
    Ok(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (switch board) S 1 4242 4242 0 -1 4194560 3120 0 0 0 157 43 0 0 20 0 9 0 123456 1048576000 6400 18446744073709551615 1 1 0 0 0 0 0 4096 17987 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0";

    #[test]
    fn cpu_ticks_are_utime_plus_stime() {
        assert_eq!(parse_stat_cpu_ticks(STAT), Some(157 + 43));
    }

    #[test]
    fn a_command_name_with_parentheses_does_not_shift_fields() {
        let tricky = STAT.replace("(switch board)", "(a) b) (c)");
        assert_eq!(parse_stat_cpu_ticks(&tricky), Some(200));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
    }

    #[test]
    fn the_command_name_may_hold_spaces_and_parentheses() {
        assert_eq!(parse_stat_name(STAT), Some("switch board"));
        let tricky = STAT.replace("(switch board)", "(a) b) (c)");
        assert_eq!(parse_stat_name(&tricky), Some("a) b) (c"));
        assert_eq!(parse_stat_name("garbage"), None);
    }

    #[test]
    fn cpu_model_and_memory_come_from_their_files() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: other\n";
        assert_eq!(parse_cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(parse_cpu_model("processor: 0\n"), None);
        let meminfo = "MemTotal:       24641236 kB\nMemFree:         1000 kB\n";
        assert_eq!(parse_mem_total_bytes(meminfo), Some(24641236 * 1024));
        assert_eq!(parse_mem_total_bytes("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn rss_is_read_in_bytes() {
        let status = "Name:\tswitchboard\nVmPeak:\t  200000 kB\nVmRSS:\t   25600 kB\nThreads:\t9\n";
        assert_eq!(parse_status_rss_bytes(status), Some(25600 * 1024));
        assert_eq!(parse_status_rss_bytes("Name:\tx\n"), None);
    }

    #[test]
    fn busy_and_steal_come_from_the_cpu_line() {
        let stat = "cpu  10132153 290696 3084719 46828483 16683 0 25195 1234 0 0\n\
                    cpu0 1393280 32966 572056 13343292 6130 0 17875 600 0 0\n\
                    cpu1 1335386 30211 542034 13497234 3906 0 2413 634 0 0\n\
                    intr 1462898\nctxt 9283\n";
        let totals = parse_proc_stat(stat).unwrap();
        assert_eq!(
            totals,
            CpuTotals {
                busy: 10132153 + 290696 + 3084719 + 25195,
                steal: 1234,
                total: 10132153 + 290696 + 3084719 + 46828483 + 16683 + 25195 + 1234,
                cpus: 2
            }
        );
        let later = CpuTotals {
            busy: totals.busy + 30,
            total: totals.total + 200,
            ..totals
        };
        assert_eq!(totals.busy_percent_until(&later), 15.0);
        assert_eq!(totals.busy_percent_until(&totals), 0.0);
        assert_eq!(parse_proc_stat("intr 1\n"), None);
        assert_eq!(parse_proc_stat("cpu 1 2 3\n"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let me = std::process::id();
        assert!(process_rss_bytes(me).unwrap() > 0);
        process_cpu_ticks(me).unwrap();
        assert!(system_cpu().unwrap().cpus >= 1);
        let all = all_processes().unwrap();
        assert!(all.iter().any(|(pid, _, _)| *pid == me));
        assert!(clock_ticks_per_second() >= 1);
    }
}
