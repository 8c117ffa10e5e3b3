"""Speech synthesis for HW02's own corpus: what is said, who says it, and the room it is heard in.

- `text`: sentences, word lists and random syllables (eSpeak phoneme input), prosody as SSML;
- `espeak`: eSpeak NG through ctypes, speech plus the phoneme events that label it;
- `festival`: voices from recordings (Flite, Festival) with their phone segments;
- `acoustics`: reverberation, noise, speed perturbation and channels.

`hw02.corpus` puts them together into the homework's layout.
"""
