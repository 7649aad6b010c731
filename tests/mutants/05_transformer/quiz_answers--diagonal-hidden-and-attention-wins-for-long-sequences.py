# loses: test_q2, test_q4
answer_q1 = "a"
answer_q2 = "c"
answer_q3 = "a"
answer_q4 = "a"
answer_q5 = 16
answer_q6 = 3152384
