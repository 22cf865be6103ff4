package procstat

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The file contents below are real:
//
//   - v1: captured on a cgroup v1 host (Linux 6.18, the hybrid layout:
//     every v1 controller mounted apart, and an empty unified hierarchy at
//     /sys/fs/cgroup/unified). "throttled" is a cgroup made with
//     cpu.cfs_quota_us 20000 and memory.limit_in_bytes 64 MiB, whose
//     process allocated 40 MiB, wrote an 8 MiB file and spun for 1.5 s;
//     "unlimited" is a cgroup without limits on the same host.
//   - v2: a Kubernetes container's view (containerd with a cgroup
//     namespace: /proc/self/cgroup is "0::/", the container's cgroup is
//     mounted at /sys/fs/cgroup), with a CPU limit of 500m and a memory
//     limit of 512 Mi; the files are in the kernel's format with the keys
//     Linux 6.x writes. "host" is a systemd host's unified hierarchy
//     without the cpu controller, whose cpu.stat was captured on the same
//     machine as v1.

const hybridMountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const v1MemoryStatThrottled = `cache 8388608
rss 48996352
rss_huge 0
shmem 0
mapped_file 0
dirty 8388608
writeback 0
workingset_refault_anon 0
workingset_refault_file 0
swap 0
swapcached 0
pgpgin 17092
pgpgout 5126
pgfault 21674
pgmajfault 0
inactive_anon 48992256
active_anon 4096
inactive_file 8388608
active_file 0
unevictable 0
hierarchical_memory_limit 67108864
hierarchical_memsw_limit 9223372036854771712
total_cache 8388608
total_rss 48996352
total_rss_huge 0
total_shmem 0
total_mapped_file 0
total_dirty 8388608
total_writeback 0
total_workingset_refault_anon 0
total_workingset_refault_file 0
total_swap 0
total_swapcached 0
total_pgpgin 17092
total_pgpgout 5126
total_pgfault 21674
total_pgmajfault 0
total_inactive_anon 48992256
total_active_anon 4096
total_inactive_file 8388608
total_active_file 0
total_unevictable 0
`

const k8sMountinfo = `1427 1366 0:300 / / rw,relatime master:611 - overlay overlay rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/91/fs,upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/93/fs,workdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/93/work
1428 1427 0:303 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1432 1427 0:306 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
1436 1432 0:29 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot
1437 1427 0:295 / /tmp rw,relatime - tmpfs tmpfs rw,size=65536k
`

const v2MemoryStat = `anon 201326592
file 41943040
kernel 3145728
kernel_stack 425984
pagetables 1048576
sec_pagetables 0
percpu 1200
sock 0
vmalloc 0
shmem 0
zswap 0
zswapped 0
file_mapped 0
file_dirty 0
file_writeback 0
swapcached 0
anon_thp 0
file_thp 0
shmem_thp 0
inactive_anon 201322496
active_anon 4096
inactive_file 33554432
active_file 8388608
unevictable 0
slab_reclaimable 1048576
slab_unreclaimable 524288
slab 1572864
workingset_refault_anon 0
workingset_refault_file 0
workingset_activate_anon 0
workingset_activate_file 0
workingset_restore_anon 0
workingset_restore_file 0
workingset_nodereclaim 0
pgscan 0
pgsteal 0
pgscan_kswapd 0
pgscan_direct 0
pgsteal_kswapd 0
pgsteal_direct 0
pgfault 61582
pgmajfault 0
pgrefill 0
pgactivate 2
pgdeactivate 0
pglazyfree 0
pglazyfreed 0
thp_fault_alloc 0
thp_collapse_alloc 0
`

func TestCgroup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		files   map[string]string
		version int
		want    CgroupStat
	}{{
		name: "v1 throttled",
		files: map[string]string{
			"proc/self/mountinfo": hybridMountinfo,
			"proc/self/cgroup": "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n" +
				"4:memory:/glocust-capture\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/glocust-capture\n0::/\n",
			"sys/fs/cgroup/cpu/glocust-capture/cpu.stat": "nr_periods 21\nnr_throttled 21\nthrottled_time 1636456084\n" +
				"nr_bursts 0\nburst_time 0\n",
			"sys/fs/cgroup/cpu/glocust-capture/cpu.cfs_quota_us":             "20000\n",
			"sys/fs/cgroup/cpu/glocust-capture/cpu.cfs_period_us":            "100000\n",
			"sys/fs/cgroup/memory/glocust-capture/memory.usage_in_bytes":     "58081280\n",
			"sys/fs/cgroup/memory/glocust-capture/memory.limit_in_bytes":     "67108864\n",
			"sys/fs/cgroup/memory/glocust-capture/memory.stat":               v1MemoryStatThrottled,
			"sys/fs/cgroup/unified/cpu.stat":                                 "usage_usec 1\n", // not read: cpu is v1
			"sys/fs/cgroup/memory/memory.usage_in_bytes":                     "1\n",            // the root: not ours
			"sys/fs/cgroup/cpu/glocust-capture/notify_on_release":            "0\n",
			"sys/fs/cgroup/memory/glocust-capture/memory.max_usage_in_bytes": "58212352\n",
		},
		version: 1,
		want: CgroupStat{Periods: 21, ThrottledPeriods: 21, Throttled: 1636456084, CPULimit: 0.2,
			MemoryWorkingSet: 58081280 - 8388608, MemoryLimit: 64 << 20},
	}, {
		name: "v1 unlimited",
		files: map[string]string{
			"proc/self/mountinfo": hybridMountinfo,
			"proc/self/cgroup": "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n" +
				"4:memory:/process_api/7776ea6a8067db5e04f9b9efb05c260c\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n",
			"sys/fs/cgroup/cpu/cpu.stat":          "nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n",
			"sys/fs/cgroup/cpu/cpu.cfs_quota_us":  "-1\n",
			"sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
			"sys/fs/cgroup/memory/process_api/7776ea6a8067db5e04f9b9efb05c260c/memory.usage_in_bytes": "44314624\n",
			"sys/fs/cgroup/memory/process_api/7776ea6a8067db5e04f9b9efb05c260c/memory.limit_in_bytes": "9223372036854771712\n",
			"sys/fs/cgroup/memory/process_api/7776ea6a8067db5e04f9b9efb05c260c/memory.stat": "cache 23662592\nrss 18096128\n" +
				"rss_huge 0\ninactive_file 5173248\ntotal_inactive_file 5173248\n",
		},
		version: 1,
		want:    CgroupStat{MemoryWorkingSet: 44314624 - 5173248},
	}, {
		name: "v2 Kubernetes container",
		files: map[string]string{
			"proc/self/mountinfo": k8sMountinfo,
			"proc/self/cgroup":    "0::/\n",
			"sys/fs/cgroup/cpu.stat": "usage_usec 8451289\nuser_usec 5321004\nsystem_usec 3130285\n" +
				"core_sched.force_idle_usec 0\nnr_periods 84052\nnr_throttled 113\nthrottled_usec 921034\nnr_bursts 0\nburst_usec 0\n",
			"sys/fs/cgroup/cpu.max":        "50000 100000\n",
			"sys/fs/cgroup/memory.current": "247463936\n",
			"sys/fs/cgroup/memory.max":     "536870912\n",
			"sys/fs/cgroup/memory.stat":    v2MemoryStat,
		},
		version: 2,
		want: CgroupStat{Periods: 84052, ThrottledPeriods: 113, Throttled: 921034 * time.Microsecond, CPULimit: 0.5,
			MemoryWorkingSet: 247463936 - 33554432, MemoryLimit: 512 << 20},
	}, {
		name: "v2 host, nested cgroup, no cpu controller, no limits",
		files: map[string]string{
			"proc/self/mountinfo": "29 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
			"proc/self/cgroup":    "0::/user.slice/user-1000.slice/session-2.scope\n",
			"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cpu.stat": "usage_usec 8839895424\nuser_usec 7613387670\n" +
				"system_usec 1226507754\nnice_usec 587403399\n",
			"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/memory.current": "1048576\n",
			"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/memory.max":     "max\n",
			"sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/memory.stat":    "anon 524288\nfile 524288\ninactive_file 262144\n",
		},
		version: 2,
		want:    CgroupStat{MemoryWorkingSet: 1048576 - 262144},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			if err := writeTree(root, tc.files); err != nil {
				t.Fatal(err)
			}
			cg, err := OpenCgroup(root)
			if err != nil {
				t.Fatal(err)
			}
			if v := cg.Version(); v != tc.version {
				t.Errorf("version %d, want %d", v, tc.version)
			}
			got, err := cg.Read()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Read\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestCgroupErrors: no cgroup mounted is ErrNoCgroup; a file the kernel
// would never write is an error naming it, not a zero.
func TestCgroupErrors(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := writeTree(root, map[string]string{"proc/self/mountinfo": "22 27 0:21 / /proc rw,relatime - proc proc rw\n",
		"proc/self/cgroup": "0::/\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCgroup(root); !errors.Is(err, ErrNoCgroup) {
		t.Errorf("no cgroup mount: %v, want ErrNoCgroup", err)
	}
	if _, err := OpenCgroup(filepath.Join(root, "missing")); !errors.Is(err, ErrNoCgroup) {
		t.Errorf("no /proc: %v, want ErrNoCgroup", err)
	}
	for file, content := range map[string]string{"cpu.max": "50000\n", "cpu.stat": "nr_periods x\n",
		"memory.max": "lots\n", "memory.current": "\n", "memory.stat": "anon 1 2\n"} {
		root := t.TempDir()
		files := map[string]string{"proc/self/mountinfo": k8sMountinfo, "proc/self/cgroup": "0::/\n",
			"sys/fs/cgroup/cpu.stat": "nr_periods 1\n", "sys/fs/cgroup/cpu.max": "max 100000\n",
			"sys/fs/cgroup/memory.current": "1\n", "sys/fs/cgroup/memory.max": "max\n", "sys/fs/cgroup/memory.stat": "anon 1\n"}
		files["sys/fs/cgroup/"+file] = content
		if err := writeTree(root, files); err != nil {
			t.Fatal(err)
		}
		cg, err := OpenCgroup(root)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cg.Read(); err == nil {
			t.Errorf("%s %q: no error", file, content)
		}
	}
}

// TestCgroupWithin: the cgroup's directory under a mount, for the paths
// /proc/self/cgroup shows with and without a cgroup namespace.
func TestCgroupWithin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, root, want string }{
		{"/", "/", "."},
		{"/kubepods/pod1/ctr", "/", "kubepods/pod1/ctr"},
		{"/docker/abc", "/docker/abc", "."},
		{"/kubepods/pod1/ctr", "/kubepods", "pod1/ctr"},
		{"/kubepods2/x", "/kubepods", "."}, // not under the mount's root
		{"/", "/kubepods/pod1/ctr", "."},   // a namespace's view
		{"/../../pod1/ctr", "/", "."},      // a path from outside the namespace
		{`/a\040b`, "/", `a\040b`},         // unescaped by the caller, kept here
		{"/kubepods/pod1/ctr/", "/kubepods", "pod1/ctr"},
	} {
		if got := within(tc.path, tc.root); got != tc.want {
			t.Errorf("within(%q, %q) = %q, want %q", tc.path, tc.root, got, tc.want)
		}
	}
	if got := unescape(`/sys/fs/cgroup/tab\011tab\040x\134`); got != "/sys/fs/cgroup/tab\ttab x\\" {
		t.Errorf("unescape: %q", got)
	}
}

// TestCgroupThisHost reads the cgroup of the test process: on Linux it is
// found and reads without error.
func TestCgroupThisHost(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/cgroup"); err != nil {
		t.Skip("no /proc/self/cgroup")
	}
	cg, err := OpenCgroup("/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cg.Read(); err != nil {
		t.Fatal(err)
	}
}

func writeTree(root string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
