"""Class sets: one problem, many students, each with numbers of their own.

Contract: the stages of a class set, each pure unless it says otherwise:

- `variants`: a spec's optional `[variants]` table (what varies, over which
  values, under which constraints), and a student's variant, a pure function
  of (the spec, the class seed, the student ID): a normal, frozen `Spec`
  without the table, which every other stage (solve, render, check) takes
  unchanged. Also a roster's variants, distinct numbers guaranteed, and a
  spec written back as TOML. Touches no files.
- `moodle`: exports, a Moodle XML question bank with one Cloze question per
  variant. Text in, text out.

Planned beside them (issue 11): the roster (a class list read from a file),
a class directory's keys and sheets, and grading a class's answers against
each student's own variant.
"""
