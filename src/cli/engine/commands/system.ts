/** version, info and system df. */
import { Command } from 'commander';
import { cpus, release, totalmem, arch } from 'node:os';
import { readFileSync } from 'node:fs';
import { detectLayout } from '../../../cgroups/layout';
import { humanSize } from '../../format/human';
import { formatRows } from '../../format/template';
import type { CliEnv } from '../env';
import { renderDiskUsage } from '../disk-usage';

function osName(): string {
  try {
    return /PRETTY_NAME="?([^"\n]*)"?/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function registerSystemCommands(program: Command, env: CliEnv, version: string): void {
  program
    .command('version')
    .option('-f, --format <template>', 'Go template')
    .description('Berth version information')
    .action((o: { format?: string }) => {
      const info = {
        Client: { Version: version, ApiVersion: '1.43', Os: 'linux', Arch: GOARCH[arch()] ?? arch(), NodeVersion: process.version },
        Server: { Version: version, ApiVersion: '1.43', MinAPIVersion: '1.24', Os: 'linux', Arch: GOARCH[arch()] ?? arch(), KernelVersion: release() },
      };
      if (o.format) return void env.out.write(formatRows(o.format, [info], { headers: {} }));
      env.out.write(
        `Client:\n Version:       ${version}\n API version:   1.43\n Node.js:       ${process.version}\n OS/Arch:       linux/${GOARCH[arch()] ?? arch()}\n\n` +
          `Engine (daemonless):\n Version:       ${version}\n API version:   1.43 (minimum version 1.24)\n Kernel:        ${release()}\n OCI runtime:   berth-runtime ${version}\n`,
      );
    });

  program
    .command('info')
    .option('-f, --format <template>', 'Go template')
    .description('system-wide information')
    .action(async (o: { format?: string }) => {
      const engine = env.engine();
      const images = await engine.images.list();
      const counts = await engine.containerCounts();
      const layout = detectLayout();
      const info = {
        Containers: counts.total,
        ContainersRunning: counts.running,
        ContainersPaused: counts.paused,
        ContainersStopped: counts.stopped,
        Images: images.length,
        Driver: engine.snapshotter.name,
        DockerRootDir: engine.root,
        CgroupDriver: 'cgroupfs',
        CgroupVersion: layout === 'v2' ? '2' : '1',
        KernelVersion: release(),
        OperatingSystem: osName(),
        OSType: 'linux',
        Architecture: arch() === 'x64' ? 'x86_64' : arch(),
        NCPU: cpus().length,
        MemTotal: totalmem(),
        DefaultRuntime: 'berth',
        SecurityOptions: ['name=seccomp,profile=builtin'],
        ServerVersion: version,
      };
      if (o.format) return void env.out.write(formatRows(o.format, [info], { headers: {} }));
      env.out.write(
        [
          'Server:',
          ` Containers: ${info.Containers}`,
          `  Running: ${info.ContainersRunning}`,
          `  Paused: ${info.ContainersPaused}`,
          `  Stopped: ${info.ContainersStopped}`,
          ` Images: ${info.Images}`,
          ` Server Version: ${version} (daemonless)`,
          ` Storage Driver: ${info.Driver}`,
          ` Cgroup Driver: cgroupfs`,
          ` Cgroup Version: ${info.CgroupVersion}${layout === 'hybrid' ? ' (hybrid)' : ''}`,
          ` Runtimes: berth runc crun`,
          ` Default Runtime: berth`,
          ` Security Options:`,
          `  seccomp`,
          `   Profile: builtin`,
          ` Kernel Version: ${info.KernelVersion}`,
          ` Operating System: ${info.OperatingSystem}`,
          ` OSType: linux`,
          ` Architecture: ${info.Architecture}`,
          ` CPUs: ${info.NCPU}`,
          ` Total Memory: ${humanSize(info.MemTotal)}`,
          ` Berth Root Dir: ${engine.root}`,
          '',
        ].join('\n'),
      );
    });

  const system = program.command('system').description('manage Berth');
  system
    .command('df')
    .option('-v, --verbose', 'per-image, per-container and per-volume detail')
    .option('--format <template>', "Go template, 'table TEMPLATE' or 'json'")
    .description('disk usage')
    .action(async (o: { format?: string; verbose?: boolean }) => {
      env.out.write(renderDiskUsage(await env.engine().diskUsage(), o));
    });
  system.exitOverride();
  for (const c of system.commands) c.exitOverride();
}
