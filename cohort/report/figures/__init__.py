"""Figure functions in the style of seaborn: data first, keyword-only options, ``ax=``,
return the Axes, no global style changes."""
