/**
 * @module demo/spine/main
 * `npm run spine-sim`: the simulator alone on https://127.0.0.1:9443 (SPINE_SIM_PORT overrides),
 * with the dev PKI in .data/pki (FGM_PKI_DIR moves it: files there are kept, missing ones issued by its
 * ca.key, and the line says which). SPINE_SIM_ASIDS admits more source ASIDs; SPINE_SIM_FAULT
 * switches a fault mode on for every request.
 */
import { ensureDevPki } from '../pki.ts';
import { parseFault } from './faults.ts';
import { startSpineSimulator } from './server.ts';

try {
  const pki = await ensureDevPki(process.env.FGM_PKI_DIR ?? '.data/pki', {
    report: (line) => console.log(`spine-sim ${line}`),
  });
  const sim = await startSpineSimulator({
    pkiDir: pki.dir,
    port: Number(process.env.SPINE_SIM_PORT ?? 9443),
    asids: (process.env.SPINE_SIM_ASIDS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    fault: process.env.SPINE_SIM_FAULT ? parseFault(process.env.SPINE_SIM_FAULT) : null,
    log: (line) => console.log(`spine-sim ${line}`),
  });
  console.log(`Spine FGM-IS simulator on ${sim.endpoint} (client certificates from ${pki.caCert})`);
  const stop = () =>
    void sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (e) {
  console.error(`spine-sim: ${(e as Error).message}`);
  process.exit(1);
}
