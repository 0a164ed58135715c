/**
 * The bundled sample clip: a 24 s excerpt of OpenCV's vtest.avi (see NOTICE), so `veil batch` works with no input
 * and the detector tiers can be timed on a real frame at start-up. An absolute path.
 */
import { fileURLToPath } from 'node:url';

export const SAMPLE_CLIP = fileURLToPath(new URL('./sample/vtest-campus-24s.mp4', import.meta.url));
