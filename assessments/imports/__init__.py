"""The admin's import of staff and work units from a CSV or XLSX file ("Impor").

`files` reads a file into rows and holds what both imports share. `staff` (with `staff_rows`,
its columns and cells, and `supervisors`, the supervisor relations of its rows) and `units` each
check their rows and plan them without writing (`read_staff` / `read_units` turn the bytes of
an uploaded file into an `ImportResult`: file-level problems, every row's problems, with the
row number as the spreadsheet shows it, the header being row 1, and the plan: which rows create,
change or leave a record as it is), then write them (`staff_import` / `units_import`), planning
again inside their transaction since the database may have changed since the preview.
"""
