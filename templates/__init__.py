"""The worksheet's Jinja2 templates and style, shipped as package data of worksheet.templates."""
