import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { PEER_BAN_MS, PEER_SCORE_DISCONNECT_THRESHOLD } from "./constants.ts";
import { type Offence, PeerScoreBook, Penalty } from "./peer-score.ts";

describe("PeerScoreBook", () => {
  it("bans exactly when the score crosses the threshold, and the ban expires", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...(Object.keys(Penalty) as Offence[])), { maxLength: 30 }),
        (offences) => {
          let now = 1_000;
          const book = new PeerScoreBook(() => now);
          let expected = 0;
          let banned = false;
          for (const offence of offences) {
            expected -= Penalty[offence];
            const crossed = book.penalise("p", offence);
            assert.equal(crossed, expected <= PEER_SCORE_DISCONNECT_THRESHOLD);
            banned ||= crossed;
            assert.equal(book.score("p"), expected);
          }
          assert.equal(book.isBanned("p"), banned);
          now += PEER_BAN_MS + 1;
          assert.equal(book.isBanned("p"), false);
        },
      ),
    );
  });

  it("rewards restore a score up to zero, never above", () => {
    const book = new PeerScoreBook(() => 0);
    book.penalise("p", "Timeout");
    book.reward("p", 100);
    assert.equal(book.score("p"), 0);
    assert.equal(book.score("unknown"), 0);
  });
});
