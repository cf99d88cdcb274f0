// The overlay's rules, validated and described in one place; src/config/schema.ts mounts this as
// the `overlay` section. Durations are milliseconds; see controller.ts for which clock each uses.
import { z } from 'zod';
import { overlayModeSchema } from '../shared/protocol.ts';

export const overlayConfigSchema = z
  .object({
    mode: overlayModeSchema.describe(
      'Start-up mode of every channel: auto (recognition takes the lower third), assisted (recognition cues it, a person takes it) or manual (people only).',
    ),
    minConfidence: z
      .number()
      .min(0)
      .max(1)
      .describe(
        "Least track identity confidence (the name's share of the track's evidence, 0…1; the tracker only names a face at ≈0.48 or more with its default thresholds) for recognition to count towards a take or cue.",
      ),
    confirmMs: z
      .number()
      .int()
      .min(0)
      .describe('A track must hold the same name at minConfidence or more for this long (source time) before recognition takes or cues it.'),
    lostMs: z
      .number()
      .int()
      .min(0)
      .describe("A recognition-triggered lower third comes off when its player's face has not been seen for this long (source time)."),
    maxOnAirMs: z
      .number()
      .int()
      .min(0)
      .describe('Longest time a lower third stays on air, any take (0 = until cleared). Also ends by wall clock, so a dead stream still clears it.'),
    cooldownMs: z
      .number()
      .int()
      .min(0)
      .describe("After a player's lower third comes off, recognition does not take or cue that player again for this long."),
    introMs: z
      .number()
      .int()
      .min(0)
      .describe('Time on the intro card (name, number, team) before the lower third rotates to the stats card (0 = never rotate).'),
    statKeys: z
      .array(z.string().min(1))
      .describe("Player stats shown on the stats card, in this order (keys missing from a player are skipped); empty = the player's first 4 stats."),
    nameTags: z.boolean().describe('Start-up state of the face-following name tags.'),
    tagSmoothing: z
      .number()
      .min(0)
      .lt(1)
      .describe("Weight of a name tag's previous position in each new one (exponential filter per analysed frame): 0 = raw boxes, 0.9 = very steady but lagging."),
    lowerThirdTemplate: z.string().min(1).describe('Folder under overlays/ holding the lower-third template.'),
  })
  .describe('On-air graphics: when recognition takes, cues and removes lower thirds, and the name tags.');

export type OverlayConfig = z.infer<typeof overlayConfigSchema>;
