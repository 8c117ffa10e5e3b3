"""Speech synthesis for HW02's own corpus (`hw02.corpus` puts it together): `text`, what is said; `espeak` and
`festival`, the voices, with the phonemes they spoke; `acoustics`, the room, the noise and the channel."""
