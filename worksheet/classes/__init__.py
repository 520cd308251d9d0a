"""Class sets: one problem, many students, each with numbers of their own.

Contract: the stages of a class set, each pure unless it says otherwise:

- `variants`: a spec's optional `[variants]` table (what varies, over which
  values, under which constraints), and a student's variant, a pure function
  of (the spec, the class seed, the student ID): a normal, frozen `Spec`
  without the table, which every other stage (solve, render, check) takes
  unchanged. Also a roster's variants, distinct numbers guaranteed, and a
  spec written back as TOML. Touches no files.
- `roster`: a class list (CSV) read from its text, and the class directory's
  layout and `class.csv`.
- `classset`: a class's plan (each student's variant and files) and the
  rendering of one student's key and named sheet, as bytes.
- `run`: the I/O edge of `worksheet class`: the process pool, the progress
  bar, files written whole, a rerun resuming.
- `grade`: a class's submissions (files' names and bytes) matched to its
  students by name or by the sheet they carry, and marked against each
  student's own variant: the gradebook's rows and the class summary.
- `summary`: the class summary as an HTML page (`class_summary.html.j2`).
- `quiz`: what every export to a learning platform shares: the quantities
  asked, their values and tolerances, the problem's statement as HTML.
- `moodle`: a Moodle XML question bank with one Cloze question per variant;
  `canvas`: a Canvas QTI 1.2 package (zip bytes) with one quiz per variant.
  Solved variants in, bytes out.
- `classdir`: a class directory read back (class.csv and the variants) for
  `worksheet grade` and `serve --class`, and a student's submission saved
  whole; with `run`, the class tools' I/O edge (through `files`).
"""
