/**
 * Names for containers created without --name, in docker's "adjective_noun" style, from our
 * own lists (a harbour theme, after the project's name).
 */
import { randomInt } from 'node:crypto';

const ADJECTIVES = [
  'agile', 'amber', 'bold', 'brave', 'brisk', 'calm', 'clever', 'cosmic', 'crisp', 'daring', 'eager', 'early', 'fair',
  'fast', 'fond', 'gentle', 'glad', 'golden', 'grand', 'happy', 'hardy', 'honest', 'jolly', 'keen', 'kind', 'lively',
  'loyal', 'lucid', 'merry', 'mighty', 'modest', 'nimble', 'noble', 'patient', 'polite', 'proud', 'quick', 'quiet',
  'rapid', 'ready', 'sharp', 'silent', 'sleek', 'smart', 'solid', 'spry', 'steady', 'sturdy', 'swift', 'tidy',
  'trusty', 'vivid', 'warm', 'wise', 'witty', 'zesty',
];

const NOUNS = [
  'anchor', 'atoll', 'barge', 'beacon', 'bollard', 'bow', 'buoy', 'cabin', 'canal', 'cape', 'cargo', 'channel', 'cove',
  'crane', 'current', 'deck', 'dinghy', 'dock', 'estuary', 'ferry', 'fjord', 'galley', 'gull', 'harbour', 'hull',
  'inlet', 'island', 'jetty', 'keel', 'kelp', 'lagoon', 'lantern', 'lighthouse', 'mast', 'mooring', 'narrows',
  'oar', 'pier', 'pilot', 'port', 'quay', 'reef', 'rudder', 'sail', 'schooner', 'shoal', 'skiff', 'sloop', 'sound',
  'starboard', 'stern', 'strait', 'tide', 'tug', 'wake', 'wharf',
];

/**
 * Test seam: `BERTH_TEST_NAME_DRAWS=a_b,c_d` makes the first draws of this process return
 * those names in order (to force two creates onto one generated name); unset outside tests.
 */
let forcedDraws: string[] | undefined;

export function randomName(): string {
  forcedDraws ??= (process.env.BERTH_TEST_NAME_DRAWS ?? '').split(',').filter(Boolean);
  const forced = forcedDraws.shift();
  if (forced !== undefined) return forced;
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
}

export const CONTAINER_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
