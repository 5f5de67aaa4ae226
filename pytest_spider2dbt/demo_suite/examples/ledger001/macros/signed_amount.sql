{% macro signed_amount(debit, credit) %}
    (coalesce({{ debit }}, 0) - coalesce({{ credit }}, 0))
{% endmacro %}
